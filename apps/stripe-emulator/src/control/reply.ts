/**
 * Non-JSON answers from control routes (the 3-D Secure page, its redirect back).
 * A control handler returns one of these instead of a plain value.
 */
export class ControlReply {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly body: string,
  ) {}
}

export function htmlReply(html: string, status = 200): ControlReply {
  return new ControlReply(status, { 'Content-Type': 'text/html; charset=utf-8' }, html);
}

export function redirectReply(location: string): ControlReply {
  return new ControlReply(302, { Location: location }, '');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
