/**
 * One sentence or two per config key, for the generated reference: the schema carries no
 * .describe() text, so the words live here, keyed by the path the reference shows. The docs test
 * fails on a schema key missing here and on an entry whose key the schema no longer has.
 */

/** The same words for a `url` / `urlEnv` pair, PostgreSQL's or Redis'. */
function connection(path: string, kind: string, form: string): Record<string, string> {
  return {
    [path]: `Connection to the ${kind} of that region. Give exactly one of \`url\` or \`urlEnv\`; the two sides must be two servers (host and port).`,
    [`${path}.url`]: `A connection URL without a password (\`${form}\`). A password as \`user:password@\` or in the query (\`?password=\`) is refused: use \`urlEnv\`.`,
    [`${path}.urlEnv`]:
      'Name of the environment variable holding the connection string, read at start-up. Percent-encode special characters in its user name and password.',
  };
}

export const CONFIG_DESCRIPTIONS: Record<string, string> = {
  environment:
    'Name of the environment this bot fails over (lower-case letters, digits, dashes). At most one operation runs at a time per environment.',
  regions: 'The two regions: `primary` serves users normally, `secondary` is the passive standby.',
  'regions.<side>': 'One region. The two must name different regions.',
  'regions.<side>.name':
    'The cloud region name (e.g. `eu-west-1`, `westeurope`), shown on the status card.',
  'regions.<side>.healthUrl':
    "The region's health endpoint as users see it (any 2xx is healthy). The primary's: detection probes it and failback's first step requires it. The secondary's: a failover's preflight warns on the approval card when it does not answer.",
  slack: 'Where the bot talks.',
  'slack.incidentChannel':
    'Channel id (`C…` or `G…`, not the name) of the incident channel: status cards, per-step thread replies and summaries go there.',
  'slack.command': 'The slash command, as registered in `manifest.yml`.',
  approvals:
    'Two-person approval: the requester never counts. Name at least one approver or a user group.',
  'approvals.approvers':
    'Slack user ids (`U…`/`W…`) allowed to approve, skip and abort. Empty only with a `userGroup`.',
  'approvals.userGroup':
    'A Slack user group id (`S…`) whose members may approve too (needs the `usergroups:read` scope; the console cannot read it).',
  'approvals.required':
    'Distinct approvers needed besides the requester (1 = two people in total). Without `userGroup` it cannot exceed the number of listed approvers.',
  'approvals.timeoutMinutes':
    'An approval request expires after this many minutes; an Approve clicked later is refused as too late.',
  targets: 'Recovery targets the measured RTO and RPO are compared with.',
  'targets.rtoMinutes':
    'Recovery time objective: from the final approval to a green verification, in minutes.',
  'targets.rpoMinutes': 'Recovery point objective: acceptable data loss, in minutes.',
  'targets.rpoMinutesByComponent':
    "Per-component RPO in minutes, for the drill report's RPO rows and the readiness checks.",
  'targets.rpoMinutesByComponent.database': 'PostgreSQL; default `targets.rpoMinutes`.',
  'targets.rpoMinutesByComponent.cache': 'Redis; default `targets.rpoMinutes`.',
  'targets.rpoMinutesByComponent.objectStorage':
    '"Near real time": the canary object must reach the secondary within it. `components.objectStorage.rpoSeconds` takes its place when set.',
  'targets.rpoMinutesByComponent.kubernetes':
    "24 h (daily Velero backups): the newest completed backup's age when a drill's failover starts.",
  readiness:
    'Continuous readiness checks between incidents. A check that turns degraded is posted once, and once more when it recovers.',
  'readiness.intervalMinutes':
    'Minutes between rounds; 0 turns the periodic checks off (`/dr status` still shows the last results).',
  'readiness.drillWarnDays':
    'A drill older than this many days (or none at all) makes the last-drill check degraded.',
  consistency:
    'The failback\'s consistency check (verify-consistency) of `components.postgres.consistencyTables` and of the Redis keyspace, made while the secondary keeps serving: each part is read on the writer, then on the standby once it has replayed that point (see the operator guide, "The consistency check").',
  'consistency.timeBudgetSeconds':
    'How long the check may take. Chunks are compared in random order: when the budget runs out, those compared are a uniform sample and the table says "sampled N %", never "consistent".',
  'consistency.attempts':
    'Comparisons of a small chunk or a key written during each of them before it counts as "changing" (neither equal nor different).',
  'consistency.unproven':
    '`pause`: a table not wholly proven (sampled, changing chunks) pauses the failback before the switch back, for a person to Retry or Skip on the evidence shown. `continue`: it goes on; the card still says what was proven.',
  'consistency.postgres': 'How PostgreSQL tables are cut and hashed.',
  'consistency.postgres.chunkRows':
    "Rows per chunk (a range of heap blocks, from the table's statistics): one short query per side, and the unit that is retried, sampled and named by its key range when it differs.",
  'consistency.postgres.concurrency':
    "Chunk queries at once on each side, each on a connection of its own (plus one to the standby, watching its replay). 3 is one parallel query at PostgreSQL's defaults (a leader and two workers). Raise it with the servers' cores.",
  'consistency.postgres.rowHash':
    "`column`: each column hashed by its type's own hash function (timestamptz as UTC, the text form for a type without one), about twice a plain scan; values their type calls equal hash alike (1.0 and 1.00). `text`: each row's text form, byte-exact, about 4x slower.",
  'consistency.redis': 'How the Redis keyspace is sampled.',
  'consistency.redis.sampleKeys':
    'Keys picked at random across the keyspace (RANDOMKEY) and compared; a keyspace no larger than this is compared whole.',
  'consistency.redis.pieceBytes':
    'Large values are read in pieces of about this many bytes (GETRANGE, HSCAN, SSCAN, ZRANGE, LRANGE, XRANGE), never copied whole.',
  components:
    'The components the runbook acts on. Every one is optional: a step whose component is absent shows as "skipped — not configured".',
  'components.postgres':
    'PostgreSQL with a streaming standby in the secondary region (PostgreSQL 13 or later).',
  'components.postgres.driver':
    '`streaming` (default): self-managed servers, `pg_promote` and rewind. `rds-replica`: an RDS cross-region read replica, promoted with `PromoteReadReplica`; failback rebuilds a replica. `aurora-global`: an Aurora Global Database, `SwitchoverGlobalCluster` (planned) or `FailoverGlobalCluster` (unplanned). `cloudnative-pg`: CloudNativePG 1.24+ replica clusters, switched through their Cluster resources. `azure-flexible`: an Azure Database for PostgreSQL flexible server read replica, promoted by Azure (a switchover with virtual endpoints, else standalone) (see docs/postgres-drivers.md).',
  'components.postgres.azureFlexible':
    'Driver `azure-flexible` only: the flexible servers behind `primary` and `secondary`. SQL (readiness, fence, catch-up, consistency) still goes to the connection URLs.',
  'components.postgres.azureFlexible.subscriptionId': 'The subscription of both servers.',
  'components.postgres.azureFlexible.resourceGroup':
    'The resource group of both servers, unless a side names its own.',
  'components.postgres.azureFlexible.<side>': 'The flexible server of that region.',
  'components.postgres.azureFlexible.<side>.serverName': 'Its server (resource) name.',
  'components.postgres.azureFlexible.<side>.resourceGroup':
    'Its resource group; default `azureFlexible.resourceGroup`.',
  'components.postgres.azureFlexible.<side>.location':
    'Its Azure region: a failback after a standalone promotion creates the new read replica there.',
  'components.postgres.azureFlexible.virtualEndpoint':
    'The virtual endpoint pair (writer on the primary, reader on the replica). With it a promotion is a switchover: the roles swap and failback is a switchover back. Without it a promotion is standalone and final, and failback is a rebuild.',
  'components.postgres.azureFlexible.endpoint':
    'Azure Resource Manager endpoint override (the lab simulator); default management.azure.com. Trusts `azure.caFile`.',
  'components.postgres.azureFlexible.promoteTimeoutSeconds':
    'How long a promotion (the Servers - Update operation) may run until the server is the primary.',
  'components.postgres.azureFlexible.rebuildTimeoutMinutes':
    'Failback: how long the old primary may take to replicate again (after a switchover while it was down, or as a new read replica).',
  'components.postgres.azureFlexible.pollIntervalMs':
    'How often the ARM operation and the servers are polled.',
  'components.postgres.rds':
    'Driver `rds-replica` only: the RDS instances behind `primary` and `secondary`. SQL (readiness, fence, catch-up, consistency) still goes to the connection URLs.',
  'components.postgres.rds.<side>': 'The RDS DB instance of that region.',
  'components.postgres.rds.<side>.instanceIdentifier': 'Its DB instance identifier.',
  'components.postgres.rds.<side>.region': 'The AWS region it lives in; calls about it go there.',
  'components.postgres.rds.accountId':
    'The AWS account id: a cross-region `CreateDBInstanceReadReplica` names its source by ARN.',
  'components.postgres.rds.endpoint':
    'Overrides the RDS API URL of both regions (the lab simulator).',
  'components.postgres.rds.promoteTimeoutSeconds':
    'How long `PromoteReadReplica` may take until `DescribeDBInstances` shows a standalone, available instance.',
  'components.postgres.rds.rebuildTimeoutMinutes':
    'Failback: how long the new cross-region replica may take to be available and caught up.',
  'components.postgres.cloudnativePg':
    'Driver `cloudnative-pg` only: the CloudNativePG Cluster of each region. SQL (readiness, loss, consistency) still goes to the connection URLs; the switch goes through the Clusters.',
  'components.postgres.cloudnativePg.<side>': "That region's Cluster and its Kubernetes API.",
  'components.postgres.cloudnativePg.<side>.kubeconfig':
    'Path to the kubeconfig; default: components.kubernetes.<side>.kubeconfig, else the standard lookup.',
  'components.postgres.cloudnativePg.<side>.context':
    'The kubeconfig context of that region; default: components.kubernetes.<side>.context. The two sides must reach two APIs: the config check refuses the same kubeconfig and context for both.',
  'components.postgres.cloudnativePg.<side>.namespace': "The Cluster's namespace.",
  'components.postgres.cloudnativePg.<side>.name':
    "The Cluster's name, as the other Cluster's `externalClusters` and `spec.replica.primary` name it; the two differ.",
  'components.postgres.cloudnativePg.operationTimeoutSeconds':
    "How long a demotion, a promotion, or the old primary's join as a replica may take.",
  'components.postgres.aurora':
    'Driver `aurora-global` only: the Aurora Global Database and its DB cluster in each region. SQL (readiness, lag, verification, consistency) still goes to the connection URLs; `fence` and `resync` are refused (Aurora does both).',
  'components.postgres.aurora.globalClusterIdentifier':
    'The global database (GlobalClusterIdentifier).',
  'components.postgres.aurora.<side>': "The region's Aurora DB cluster.",
  'components.postgres.aurora.<side>.clusterIdentifier':
    'Its DB cluster identifier (with `accountId`); or give `arn` instead.',
  'components.postgres.aurora.<side>.arn': 'Its DB cluster ARN, instead of `clusterIdentifier`.',
  'components.postgres.aurora.<side>.region':
    'The AWS region it lives in; calls about it go there.',
  'components.postgres.aurora.accountId':
    'The AWS account id: builds the cluster ARNs Aurora wants from `clusterIdentifier`.',
  'components.postgres.aurora.endpoint':
    'Overrides the RDS API URL of both regions (the lab simulator).',
  'components.postgres.aurora.switchoverTimeoutMinutes':
    'How long a `SwitchoverGlobalCluster` may take until the target is the writer.',
  'components.postgres.aurora.failoverTimeoutMinutes':
    'How long a `FailoverGlobalCluster` may take until the target is the writer.',
  'components.postgres.aurora.rejoinTimeoutMinutes':
    'Failback after a failover: how long Aurora may take to re-add the old region as a secondary (it can take hours).',
  'components.postgres.aurora.pollIntervalMs':
    'How often `DescribeGlobalClusters` is polled while Aurora works.',
  ...connection(
    'components.postgres.<side>',
    'PostgreSQL server',
    'postgres://user@host[:port]/db',
  ),
  'components.postgres.promoteTimeoutSeconds':
    'How long to wait for the promoted standby to accept writes.',
  'components.postgres.catchUpTimeoutSeconds':
    "Planned failover: how long to wait for the standby to replay the primary's final LSN.",
  'components.postgres.fence':
    'How writes on the old primary are stopped: before promotion when planned, wherever it can be reached when unplanned.',
  'components.postgres.fence.method':
    '`read-only`: `ALTER SYSTEM SET default_transaction_read_only=on`, reload, end client sessions (PostgreSQL 15+ grants it without a superuser). `role`: `ALTER ROLE` each of `fence.roles` `SET default_transaction_read_only=on` and end their sessions, where `ALTER SYSTEM` is not allowed (before 15; RDS, Aurora, Cloud SQL). `command`: run `fence.command` instead. Drivers `rds-replica` and `azure-flexible` require `role`: the config check refuses the others. Driver `cloudnative-pg` fences by demotion and refuses `role` and `command`.',
  'components.postgres.fence.roles':
    'Required with method `role`: the login roles the application writes with. The bot needs CREATEROLE (and ADMIN OPTION on each on PostgreSQL 16+): `deploy/permissions/postgres-role-fence.sql`.',
  'components.postgres.fence.command':
    'Required with method `command`. Runs via `/bin/sh` with `DR_SIDE` (the side fenced), `DR_PG_URL` and `DR_PG_OTHER_URL` in its environment.',
  'components.postgres.probe': 'The write probe verification runs.',
  'components.postgres.probe.table':
    'A table the bot writes a probe row into (created if missing).',
  'components.postgres.probe.statement': 'A statement to run instead of the table insert.',
  'components.postgres.resync':
    'Failback: the host-level command that rewinds or rebuilds a side as a standby. Without it, resync is reported as not possible.',
  'components.postgres.resync.command':
    'Runs via `/bin/sh` on the bot\'s host with the `DR_RESYNC_*` variables (see the operator guide, "The resync command"); exit 0 once the server runs as a standby. `deploy/resync/pg-rewind-standby.sh` is one for a database host, run over ssh.',
  'components.postgres.resync.timeoutSeconds': 'Maximum runtime of the resync command.',
  'components.postgres.consistencyTables':
    'Failback: tables compared chunk by chunk on both sides under live writes (settings: `consistency`). The bot needs SELECT on each.',
  'components.postgres.systemIdentifier':
    "The cluster's system identifier (`SELECT system_identifier FROM pg_control_system()`), quoted. With the primary down, a secondary of another cluster is refused. Without it the bot uses the one it last saw on both sides.",
  'components.redis':
    "The application's Redis with a replica in the secondary region; never the bot's own `REDIS_URL`.",
  ...connection('components.redis.<side>', 'Redis server', 'redis://host[:port][/db]'),
  'components.redis.promoteTimeoutSeconds':
    'How long to wait for the promoted replica to report role master.',
  'components.redis.useFailoverCommand':
    'Planned failover: use `FAILOVER TO` (Redis 6.2 or later) for a zero-loss switch.',
  'components.redis.driver':
    'How the cache is switched: `replication` (self-managed servers) `elasticache-global` (ElastiCache Global Datastore) or `azure-cache` (Azure Cache for Redis Premium, passive geo-replication). See docs/redis-drivers.md.',
  'components.redis.elasticache':
    'Driver `elasticache-global`: the global datastore and its two members. Required with that driver, refused with another.',
  'components.redis.elasticache.globalReplicationGroupId':
    'The global datastore id as AWS shows it, with its generated prefix.',
  'components.redis.elasticache.<side>':
    'The member cluster of the region: `region` and `replicationGroupId`.',
  'components.redis.elasticache.<side>.region': 'The AWS region of the member, e.g. eu-west-1.',
  'components.redis.elasticache.<side>.replicationGroupId': "The member's replication group id.",
  'components.redis.elasticache.<side>.cacheClusterId':
    'The node whose CloudWatch `GlobalDatastoreReplicationLag` is read for the lag row; default `<replicationGroupId>-001`.',
  'components.redis.elasticache.pauseWrites':
    'Planned: `CLIENT PAUSE WRITE` on the primary endpoint until the secondary caught up (zero loss). Off, or refused by the service: the card shows the lag that may be lost.',
  'components.redis.elasticache.failoverTimeoutSeconds':
    'How long the failover may take to report the new roles.',
  'components.redis.elasticache.endpoint': 'ElastiCache API endpoint override (the lab simulator).',
  'components.redis.elasticache.cloudwatchEndpoint':
    'CloudWatch API endpoint override for the lag metric (the lab simulator).',
  'components.redis.azureCache':
    'Driver `azure-cache`: the two linked Premium caches. Required with that driver, refused with another.',
  'components.redis.azureCache.subscriptionId':
    'The subscription of both caches (geo-replication links caches of one subscription).',
  'components.redis.azureCache.<side>': 'One cache of the pair.',
  'components.redis.azureCache.<side>.resourceGroup': "The cache's resource group.",
  'components.redis.azureCache.<side>.name': "The cache's resource name (not its host name).",
  'components.redis.azureCache.pauseWrites':
    'Planned: CLIENT PAUSE WRITE on the geo-primary until the lag is 0, then the unlink. Off: the card shows the possible loss.',
  'components.redis.azureCache.operationTimeoutSeconds':
    'How long a link or unlink may run; a link copies the whole dataset.',
  'components.redis.azureCache.pollIntervalMs': 'How often the ARM operation is polled.',
  'components.redis.azureCache.endpoint':
    'Azure Resource Manager endpoint override (the lab simulator); default management.azure.com. Trusts `azure.caFile`.',
  'components.dns':
    'Which region users are sent to: Route 53 failover records, Route 53 ARC routing controls or Azure Traffic Manager.',
  'components.dns.provider': 'The DNS service; the block of the same name is then required.',
  'components.dns.route53': 'Route 53 failover records (a PRIMARY and a SECONDARY record).',
  'components.dns.route53.hostedZoneId': 'The hosted zone holding the failover records.',
  'components.dns.route53.recordName': 'The record name, e.g. `app.example.com`.',
  'components.dns.route53.recordType': 'The record type of both failover records.',
  'components.dns.route53.primarySetIdentifier': 'SetIdentifier of the PRIMARY failover record.',
  'components.dns.route53.secondarySetIdentifier':
    'SetIdentifier of the SECONDARY failover record.',
  'components.dns.route53.method':
    "`invert-health-check`: pin the primary's health check unhealthy (Disabled and Inverted) so Route 53 fails over and stays there. `rewrite-records`: swap the records' failover roles.",
  'components.dns.route53.primaryHealthCheckId':
    'The health check attached to the PRIMARY record. Required with `invert-health-check`.',
  'components.dns.route53.allowUnhealthyTarget':
    'Switch even when Route 53 sees the target region unhealthy; refused by default, as Route 53 would keep answering the other region.',
  'components.dns.route53.endpoint':
    'API endpoint override (lab, tests); `AWS_ENDPOINT_URL_ROUTE_53` works too.',
  'components.dns.route53.region': 'Signing region: Route 53 is global, the SDK still needs one.',
  'components.dns.route53.changeTimeoutSeconds':
    'How long to wait for the change to be INSYNC (and the new answer); then the step fails and the operation pauses.',
  'components.dns.trafficManager':
    'An Azure Traffic Manager profile with priority routing. Credentials: `DefaultAzureCredential` (environment, workload or managed identity, Azure CLI).',
  'components.dns.trafficManager.subscriptionId': "The profile's subscription.",
  'components.dns.trafficManager.resourceGroup': "The profile's resource group.",
  'components.dns.trafficManager.profileName': 'The Traffic Manager profile.',
  'components.dns.trafficManager.primaryEndpoint':
    "The primary region's endpoint name in the profile.",
  'components.dns.trafficManager.secondaryEndpoint':
    "The secondary region's endpoint name in the profile.",
  'components.dns.trafficManager.endpointType': 'The type of both endpoints.',
  'components.dns.trafficManager.method':
    '`disable-endpoint`: disable the primary endpoint (it must have the lower priority number). `swap-priorities`: swap the two priorities.',
  'components.dns.trafficManager.endpoint': 'ARM endpoint override (lab, tests).',
  'components.dns.trafficManager.caFile':
    "PEM file of extra CA certificates to trust for `endpoint` (the lab simulator's self-signed one).",
  'components.dns.route53Arc':
    'Route 53 ARC routing controls: the data-plane switch, independent of the Route 53 control plane in us-east-1.',
  'components.dns.route53Arc.endpoints':
    "The cluster's regional endpoints (DescribeCluster's `ClusterEndpoints`), tried in turn.",
  'components.dns.route53Arc.endpoints[].url':
    "The endpoint's URL, e.g. `https://host-abc.us-west-2.example.com/v1`.",
  'components.dns.route53Arc.endpoints[].region': "The endpoint's Region (the SDK signs for it).",
  'components.dns.route53Arc.primaryRoutingControlArn':
    "The routing control tied to the primary's failover record health check.",
  'components.dns.route53Arc.secondaryRoutingControlArn':
    "The routing control tied to the secondary's failover record health check.",
  'components.dns.route53Arc.timeoutSeconds':
    'Per endpoint: seconds to wait for an answer before trying the next endpoint.',
  'components.dns.resolveName': 'A name to resolve after switching, to show what users get now.',
  'components.dns.resolverServers':
    'DNS servers for that resolution (an IP, optionally with `:port`); default the system resolver.',
  'components.kubernetes':
    'The standby cluster runs scaled down; a failover scales it to production size.',
  'components.kubernetes.<side>': "How to reach that region's cluster.",
  'components.kubernetes.<side>.kubeconfig':
    'Path to a kubeconfig file; default `KUBECONFIG`, then `~/.kube/config`.',
  'components.kubernetes.<side>.context': 'Context in the kubeconfig; default its current context.',
  'components.kubernetes.workloads': 'The workloads scaled between standby and production counts.',
  'components.kubernetes.workloads[].kind': 'The workload kind.',
  'components.kubernetes.workloads[].namespace': "The workload's namespace.",
  'components.kubernetes.workloads[].name': "The workload's name.",
  'components.kubernetes.workloads[].productionReplicas': 'Replicas while the region serves users.',
  'components.kubernetes.workloads[].standbyReplicas': 'Replicas while the region is the standby.',
  'components.kubernetes.workloads[].autoscaler':
    'When a HorizontalPodAutoscaler scales the workload: `raise` lifts its minReplicas (and maxReplicas if lower) to the production count, saves the old bounds in an annotation on it and restores them when failback ends (the secondary at standby, the primary once verified serving); `leave` refuses to scale the workload (preflight blocks).',
  'components.kubernetes.readyTimeoutSeconds':
    'How long to wait for scaled workloads to be ready; then the step fails and the operation pauses.',
  'components.kubernetes.velero':
    "Velero backups of the cluster state, read from the primary cluster's storage location, and the secondary's location that must see them: readiness, and the drill report's Kubernetes RPO (else \"not configured\").",
  'components.kubernetes.velero.namespace': 'Namespace of the Velero objects, in both clusters.',
  'components.kubernetes.velero.maxAgeHours':
    'Readiness: the newest Completed backup (of each schedule) must be younger than this many hours. PartiallyFailed backups count as failed.',
  'components.kubernetes.velero.schedules':
    'Schedules (label `velero.io/schedule-name`) whose newest backup is judged; empty: the newest backup of any.',
  'components.kubernetes.velero.storageLocation':
    "The primary's BackupStorageLocation the backups are stored in; it must be `Available`.",
  'components.kubernetes.velero.secondaryStorageLocation':
    "The secondary's location on the same bucket and prefix; default the same name. It must be `Available`, synced lately and list the newest backups.",
  'components.kubernetes.velero.maxSyncAgeMinutes':
    "The secondary's location must have synced (`status.lastSyncedTime`) within this many minutes.",
  'components.verification':
    "Checks run against a region after it takes over: the secondary in a failover (and a drill's integration tests), the primary in a failback.",
  'components.verification.<side>': "That region's checks; default none.",
  'components.verification.<side>.http': 'HTTP checks: a GET that must answer the expected status.',
  'components.verification.<side>.http[].name': 'Name shown on the card.',
  'components.verification.<side>.http[].url': 'The URL to GET.',
  'components.verification.<side>.http[].expectStatus': 'The status code that counts as healthy.',
  'components.verification.<side>.http[].bodyMatch':
    'A regular expression the response body must match.',
  'components.verification.<side>.http[].timeoutSeconds': 'Per-attempt timeout.',
  'components.verification.<side>.http[].retries': 'Extra attempts before the check fails.',
  'components.verification.<side>.commands': 'Command checks, e.g. your integration test suite.',
  'components.verification.<side>.commands[].name': 'Name shown on the card.',
  'components.verification.<side>.commands[].command':
    'Runs via `/bin/sh -c` with `DR_REGION=primary|secondary`; exit 0 passes, and the tail of its output becomes the evidence.',
  'components.verification.<side>.commands[].timeoutSeconds': 'Maximum runtime of the command.',
  runbook:
    'Your own steps in the runbooks (pause consumers, purge a CDN, update the status page, tell support). They are listed on the approval card, marked custom, and approvals bind to them.',
  'runbook.steps':
    'The custom steps. Each has an id, a title, a placement (`after` or `beside`) and exactly one action: `command`, `http` or `manual`.',
  'runbook.steps[].id':
    'Lower-case letters, digits and dashes; unique, and not a built-in step id. The console confirms a manual step with `done <id>`.',
  'runbook.steps[].title': 'Shown on the card and in the timeline, marked custom.',
  'runbook.steps[].operations':
    'Which operations run it: `failover`, `failback`, `drill`. Default: every operation whose runbook holds the anchor.',
  'runbook.steps[].modes':
    '`planned`, `unplanned` or both (default). In the other mode the step is skipped and says so.',
  'runbook.steps[].after':
    "A built-in step id or another custom step's id: the step runs once that step's stage has finished. Custom steps after the same stage run side by side.",
  'runbook.steps[].beside':
    "A built-in step id or another custom step's id: the step runs in a lane of its own beside it, from the start of that step's stage.",
  'runbook.steps[].command':
    "A program run without a shell, in a process group of its own (a timeout or the bot's exit ends the whole tree). The tail of its output is the evidence.",
  'runbook.steps[].command.argv': 'The program (on PATH, or a path) and its arguments.',
  'runbook.steps[].command.env':
    "Names of environment variables passed on from the bot's environment, besides PATH, HOME, LANG, TZ and TMPDIR. Each must be set at start.",
  'runbook.steps[].command.timeoutSeconds':
    'Per-attempt timeout; the process group is killed after it.',
  'runbook.steps[].command.retries':
    'Extra attempts after a failed one before the step fails and the operation pauses (Retry, Skip, Abort).',
  'runbook.steps[].command.check':
    'A command whose exit 0 means the effect is already in place: run first, and again after a restart, so an interrupted step is never blindly repeated.',
  'runbook.steps[].command.check.argv': 'The check program and its arguments.',
  'runbook.steps[].command.check.timeoutSeconds': 'Timeout of the check.',
  'runbook.steps[].http': 'An HTTP call; the status and the start of the body are the evidence.',
  'runbook.steps[].http.method': 'The request method; default POST.',
  'runbook.steps[].http.url': 'The URL to call.',
  'runbook.steps[].http.headers':
    'Header name → the environment variable holding its value (tokens never live in the file).',
  'runbook.steps[].http.body': 'The request body: text sent as is, a mapping sent as JSON.',
  'runbook.steps[].http.expectStatus': 'The status that counts as success.',
  'runbook.steps[].http.timeoutSeconds': 'Per-attempt timeout.',
  'runbook.steps[].http.retries': 'Extra attempts after a failed one.',
  'runbook.steps[].http.check':
    'A request whose expected answer means the effect is already in place (made first, and after a restart).',
  'runbook.steps[].http.check.method': 'Default GET.',
  'runbook.steps[].http.check.url': 'The URL to ask.',
  'runbook.steps[].http.check.headers': 'As `http.headers`.',
  'runbook.steps[].http.check.expectStatus': 'The status that means done.',
  'runbook.steps[].http.check.bodyMatch': 'A regular expression the body must match as well.',
  'runbook.steps[].manual':
    'A checklist item: posted in the incident thread with Done (and Skip, for approvers); the operation waits, and the wait counts in the RTO.',
  'runbook.steps[].manual.text': 'What the person has to do.',
  'runbook.steps[].manual.owners':
    'Slack user ids who may press Done besides the approvers; default the approvers and the requester. `/dr status` names them while the step waits.',
  'components.objectStorage':
    'Object storage replication (readiness and drills; no step fails it over): a canary written to the primary must show up in the secondary.',
  'components.objectStorage.provider':
    "S3 buckets, or Azure Blob containers; each side then uses that provider's keys.",
  'components.objectStorage.<side>': "That region's bucket or container.",
  'components.objectStorage.<side>.bucket': 'S3: the bucket (required with `s3`).',
  'components.objectStorage.<side>.region': "S3: the bucket's region.",
  'components.objectStorage.<side>.endpoint':
    'S3: API URL override (S3-compatible servers, the lab).',
  'components.objectStorage.<side>.container':
    'Azure Blob: the container (required with `azure-blob`).',
  'components.objectStorage.<side>.accountUrl':
    'Azure Blob: the account URL, reached with `DefaultAzureCredential`. Exactly one of this or `connectionStringEnv`.',
  'components.objectStorage.<side>.connectionStringEnv':
    'Azure Blob: name of an environment variable holding a connection string (never the string itself).',
  'components.objectStorage.forcePathStyle':
    'S3: path-style addressing (S3-compatible servers, the lab simulator).',
  'components.objectStorage.canaryPrefix':
    'The canary object is `<canaryPrefix><environment>`; the replication rule must cover the prefix.',
  'components.objectStorage.rpoSeconds':
    'How long the canary may take to reach the secondary; default `targets.rpoMinutesByComponent.objectStorage`.',
  'components.objectStorage.reverseReplication':
    'A rule also replicates the secondary back to the primary: at failback a canary written to the secondary must reach the primary. Without it the failback card lists the objects the primary lacks.',
  'components.terraformState':
    "Terraform state in both regions (readiness): each copy's header (serial, lineage), age and lock, compared. Nothing else of the state is read.",
  'components.terraformState.<side>':
    "That region's state backend, as Terraform's backend block names it.",
  'components.terraformState.<side>.backend':
    '`s3` (bucket, region, endpoint) or `azurerm` (container with accountUrl or connectionStringEnv).',
  'components.terraformState.<side>.key': "The state object's key (Terraform's `key`).",
  'components.terraformState.<side>.bucket': 'S3: the state bucket (required with `s3`).',
  'components.terraformState.<side>.region': "S3: the bucket's region.",
  'components.terraformState.<side>.endpoint':
    'S3: API URL override (S3-compatible servers, the lab).',
  'components.terraformState.<side>.forcePathStyle': 'S3: path-style addressing.',
  'components.terraformState.<side>.lock':
    'S3: `lockfile` reads the `<key>.tflock` Terraform writes with `use_lockfile = true`; `dynamodb` reads the item Terraform puts in `lockTable` (LockID `<bucket>/<key>`); `none` reads no lock. azurerm always reads the blob lease.',
  'components.terraformState.<side>.lockTable':
    "S3 with `lock: dynamodb`: the lock table (Terraform's `dynamodb_table`), in the side's region. The bot needs `dynamodb:GetItem` on it.",
  'components.terraformState.<side>.lockEndpoint':
    'S3 with `lock: dynamodb`: DynamoDB API URL override (the lab, VPC endpoints).',
  'components.terraformState.<side>.container':
    'azurerm: the container (`container_name`, required with `azurerm`).',
  'components.terraformState.<side>.accountUrl':
    'azurerm: the account URL, reached with `DefaultAzureCredential`. Exactly one of this or `connectionStringEnv`.',
  'components.terraformState.<side>.connectionStringEnv':
    'azurerm: name of an environment variable holding a connection string (never the string itself).',
  'components.terraformState.maxSerialLag':
    "How many serials the secondary's copy may be behind the primary's before the row is red.",
  'components.terraformState.staleLockMinutes':
    'A lock held longer than this is stale (it blocks the apply after a failover): the row is red.',
  detection:
    "Detection of a regional failure: Alertmanager alerts plus the bot's own probes of the primary. When both agree it proposes a failover; people decide. Without it the bot neither listens nor probes.",
  'detection.minAlerts':
    'Distinct firing alerts (by fingerprint) for the primary region needed within the window.',
  'detection.windowSeconds': 'The alert window, in seconds.',
  'detection.alertName': 'The alert name (label `alertname`) that counts.',
  'detection.regionLabel':
    'The alert label that names the region, compared with `regions.primary.name`.',
  'detection.probeUrls':
    'Health URLs of the primary to probe; default `regions.primary.healthUrl`.',
  'detection.probeIntervalSeconds': 'Seconds between probe rounds.',
  'detection.probeFailures':
    'Failed probe rounds in a row needed (with the alerts) to propose a failover.',
  'detection.probeTimeoutSeconds': 'Per-probe timeout; at most `probeIntervalSeconds`.',
  'detection.maxBodyBytes': 'Largest Alertmanager webhook body accepted, in bytes.',
  'detection.tokenEnv':
    'Environment variable holding the bearer token Alertmanager sends to `POST /webhooks/alertmanager`.',
  'detection.providerStatus':
    "The cloud's own status for the primary region, shown as evidence only: it never opens or clears an episode. Set exactly one of `aws` or `azure`.",
  'detection.providerStatus.aws':
    'AWS Health DescribeEvents, open events only (Business or Enterprise support plan; standard AWS credential chain).',
  'detection.providerStatus.aws.region':
    'The region whose events count; default `regions.primary.name`.',
  'detection.providerStatus.aws.endpoint':
    "Endpoint override (lab, tests); default the SDK's global endpoint.",
  'detection.providerStatus.azure':
    'Azure Resource Health availability (`DefaultAzureCredential`); anything not Available counts.',
  'detection.providerStatus.azure.subscriptionId': 'The subscription to read.',
  'detection.providerStatus.azure.resourceId':
    "One resource to watch (a full ARM id); default every resource of the subscription in the primary's location.",
  'detection.providerStatus.azure.endpoint':
    'ARM endpoint override (lab, tests); default `https://management.azure.com`.',
  'detection.providerStatus.intervalSeconds': 'Seconds between reads.',
  azure:
    "How the bot's Azure credential (`DefaultAzureCredential`: environment, workload identity, managed identity, CLI) reaches Microsoft Entra ID; `AZURE_AUTHORITY_HOST` picks the cloud.",
  'azure.disableInstanceDiscovery':
    'Skip instance discovery (a call to login.microsoftonline.com that validates the authority host): private clouds, Azure Stack, the lab.',
  'azure.caFile':
    "PEM file of the CA certificates to trust for the authority host and the Azure APIs, instead of the system's.",
};

/** A short example after a section's table, keyed by the section's name. */
export const CONFIG_EXAMPLES: Record<string, string> = {
  runbook: [
    'One step of each kind: a command with its check, an HTTP call, and a checklist item.',
    '',
    '```yaml',
    'runbook:',
    '  steps:',
    '    - id: pause-consumers',
    '      title: Pause the queue consumers',
    '      beside: promote-database        # its own lane, from the start of that stage',
    '      command:',
    '        argv: [/opt/dr/pause-consumers.sh, --all]',
    '        env: [QUEUE_ADMIN_TOKEN]',
    '        check: { argv: [/opt/dr/consumers-paused.sh] }   # exit 0: already done',
    '    - id: status-page',
    '      title: Update the status page',
    '      after: switch-dns',
    '      operations: [failover]',
    '      http:',
    '        url: https://status.example.com/api/incidents',
    '        headers: { Authorization: STATUS_PAGE_TOKEN }   # the variable holding the value',
    '        body: { status: identified, message: Serving from the secondary region }',
    '        expectStatus: 201',
    '    - id: tell-support',
    '      title: Tell customer support',
    '      after: status-page',
    '      manual:',
    '        text: Post the incident in #support with the status page link.',
    '        owners: [U0123SUPPORT]      # besides the approvers',
    '```',
  ].join('\n'),
};
