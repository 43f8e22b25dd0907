/**
 * Method + path router with `:param` segments. A trie per method; static segments win over
 * parameters, so `/v1/customers/search` is not taken for `/v1/customers/:id`.
 */
import type { Emulator, EventRequest } from '../core/context.ts';
import type { AnySchema } from './params.ts';

export interface ApiRequest<P = Record<string, unknown>> {
  ctx: Emulator;
  /** Validated body (POST) or query (GET/DELETE) parameters, `expand` removed. */
  params: P;
  /** Path parameters: `/v1/customers/:id` -> `{ id }`. */
  path: Record<string, string>;
  method: string;
  /** The path without the query string (used as the `url` of lists). */
  url: string;
  requestId: string;
  idempotencyKey: string | null;
  /** What events emitted by this request record as `request`. */
  eventRequest: EventRequest;
  /** Which kind of key authenticated the call. */
  keyKind: 'secret' | 'publishable';
  expand: string[];
  /**
   * The Stripe-Version header, or null when the caller sent none (curl, the Stripe CLI):
   * such calls get the account's default version, which the emulator treats as older than
   * the pinned one for the few parameters whose name changed (see `isBefore`).
   */
  apiVersion: string | null;
}

export type Handler<P> = (req: ApiRequest<P>) => unknown;

export interface Route {
  method: string;
  pattern: string;
  schema: AnySchema;
  /** Publishable keys may call it (confirming intents from the browser). */
  publishable: boolean;
  handler: Handler<never>;
}

interface Node {
  children: Map<string, Node>;
  param?: { name: string; node: Node };
  route?: Route;
}

function newNode(): Node {
  return { children: new Map() };
}

export class Router {
  private roots = new Map<string, Node>();
  readonly routes: Route[] = [];

  add(route: Route): void {
    let node = this.roots.get(route.method);
    if (!node) {
      node = newNode();
      this.roots.set(route.method, node);
    }
    for (const segment of route.pattern.split('/').filter(Boolean)) {
      if (segment.startsWith(':')) {
        const name = segment.slice(1);
        if (!node.param) node.param = { name, node: newNode() };
        else if (node.param.name !== name) {
          throw new Error(`route ${route.pattern}: :${name} conflicts with :${node.param.name}`);
        }
        node = node.param.node;
      } else {
        let next = node.children.get(segment);
        if (!next) {
          next = newNode();
          node.children.set(segment, next);
        }
        node = next;
      }
    }
    if (node.route) throw new Error(`duplicate route ${route.method} ${route.pattern}`);
    node.route = route;
    this.routes.push(route);
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    const root = this.roots.get(method);
    if (!root) return undefined;
    const segments = path.split('/').filter(Boolean);
    const params: Record<string, string> = {};
    const route = walk(root, segments, 0, params);
    return route ? { route, params } : undefined;
  }
}

function walk(
  node: Node,
  segments: string[],
  index: number,
  params: Record<string, string>,
): Route | undefined {
  if (index === segments.length) return node.route;
  const segment = segments[index]!;
  const stat = node.children.get(segment);
  if (stat) {
    const found = walk(stat, segments, index + 1, params);
    if (found) return found;
  }
  if (node.param) {
    let value = segment;
    try {
      value = decodeURIComponent(segment);
    } catch {}
    const found = walk(node.param.node, segments, index + 1, params);
    if (found) {
      params[node.param.name] = value;
      return found;
    }
  }
  return undefined;
}
