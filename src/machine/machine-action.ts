// Typing for the machine's actions written outside setup(): enqueueActions bound to the
// operation's context, events and emitted timeline events, and the clock actions stamp times with.
import { enqueueActions, type ParameterizedObject } from 'xstate';
import type { DomainEvent } from '../domain/types.js';
import type { OperationContext, OperationEvent } from './types.js';

/** The machine's time source: `now` of createOperationMachine (Date.now unless a test's clock). */
export type Clock = () => number;

type Params = ParameterizedObject['params'] | undefined;

type Collect<TParams extends Params> = Parameters<
  typeof enqueueActions<
    OperationContext,
    OperationEvent,
    TParams,
    OperationEvent,
    never,
    never,
    never,
    never,
    DomainEvent
  >
>[0];

/** An action of the operation machine that assigns context and emits timeline events. */
export function operationAction<TParams extends Params = undefined>(collect: Collect<TParams>) {
  return enqueueActions<
    OperationContext,
    OperationEvent,
    TParams,
    OperationEvent,
    never,
    never,
    never,
    never,
    DomainEvent
  >(collect);
}
