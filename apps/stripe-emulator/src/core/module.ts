/**
 * How a resource module plugs in. A module is a file exporting
 *
 *   export const customersModule: EmulatorModule = { name: 'customers', register(app) { ... } };
 *
 * and listed once in src/modules.ts. `register` declares routes (with their parameter
 * shapes), hook listeners and virtual expansions. Tables, jobs and hooks are declared at
 * module scope with defineTable / defineJob / defineHook and imported by whoever uses them.
 */

import { type InferShape, type ListParams, listParams, p, type Shape, searchParams } from '../http/params.ts';
import { type ApiRequest, type Handler, Router } from '../http/router.ts';
import type { App, ControlHandler, VirtualExpansion } from './context.ts';
import type { HookDef, HookListener } from './hooks.ts';

export interface RouteOptions {
  /** Allow publishable keys (pk_test_) as well as secret keys. */
  publishable?: boolean;
}

export interface AppBuilder {
  get<S extends Shape>(path: string, params: S, handler: Handler<InferShape<S>>, opts?: RouteOptions): void;
  post<S extends Shape>(path: string, params: S, handler: Handler<InferShape<S>>, opts?: RouteOptions): void;
  del<S extends Shape>(path: string, params: S, handler: Handler<InferShape<S>>, opts?: RouteOptions): void;
  /** GET list route: `limit`, `starting_after`, `ending_before` are added to the params. */
  list<S extends Shape>(path: string, params: S, handler: Handler<InferShape<S> & ListParams>): void;
  /** GET search route: `query`, `limit`, `page` are added to the params. */
  search<S extends Shape>(
    path: string,
    params: S,
    handler: Handler<InferShape<S> & { query: string; limit?: number; page?: string }>,
  ): void;
  on<P>(hook: HookDef<P>, listener: HookListener<P>): void;
  /** A field that is not stored but can be expanded, e.g. ('customer', 'subscriptions'). */
  virtualExpansion(object: string, field: string, resolve: VirtualExpansion): void;
  /** A control-API route under /_emulator/ (JSON, no auth), e.g. a test helper. */
  control(method: 'GET' | 'POST' | 'DELETE', path: string, handler: ControlHandler): void;
}

export interface EmulatorModule {
  name: string;
  register(app: AppBuilder): void;
}

export type { ApiRequest };

export function buildApp(modules: EmulatorModule[]): App {
  const app: App = {
    router: new Router(),
    controlRoutes: [],
    hooks: new Map(),
    virtualExpansions: new Map(),
  };
  const add = (
    method: string,
    pattern: string,
    shape: Shape,
    handler: Handler<never>,
    opts: RouteOptions = {},
  ) => {
    app.router.add({ method, pattern, schema: p.object(shape), handler, publishable: !!opts.publishable });
  };
  const builder: AppBuilder = {
    get: (path, params, handler, opts) => add('GET', path, params, handler as Handler<never>, opts),
    post: (path, params, handler, opts) => add('POST', path, params, handler as Handler<never>, opts),
    del: (path, params, handler, opts) => add('DELETE', path, params, handler as Handler<never>, opts),
    list: (path, params, handler) =>
      add('GET', path, { ...params, ...listParams }, handler as Handler<never>),
    search: (path, params, handler) =>
      add('GET', path, { ...params, ...searchParams }, handler as Handler<never>),
    on: (hook, listener) => {
      const list = app.hooks.get(hook.name) ?? [];
      list.push(listener as HookListener<never>);
      app.hooks.set(hook.name, list);
    },
    virtualExpansion: (object, field, resolve) => {
      app.virtualExpansions.set(`${object}.${field}`, resolve);
    },
    control: (method, pattern, handler) => {
      app.controlRoutes.push({ method, pattern, handler });
    },
  };
  for (const module of modules) module.register(builder);
  return app;
}
