// Server-sent events (GET /api/events). EventSource cannot send headers, so the token goes in
// ?access_token= (RFC 6750 §2.3), as docs/rest-api.md allows for this route only.
import { token, type ApiEvent } from "./api";

export const EVENT_TYPES = ["registration", "update", "deregistration", "notification", "bootstrap", "sleeping", "awake", "coap", "lost", "dropped"] as const;

/** Subscribes; returns the function that closes the stream. EventSource reconnects by itself
 * and sends Last-Event-ID, so a short outage loses nothing the server's ring still has. */
export function subscribe(filter: { ep?: string[]; type?: string[] }, on: (e: ApiEvent) => void, onState?: (open: boolean) => void): () => void {
  const q = new URLSearchParams();
  const t = token.get();
  if (t) q.set("access_token", t);
  if (filter.ep?.length) q.set("ep", filter.ep.join(","));
  if (filter.type?.length) q.set("type", filter.type.join(","));
  const es = new EventSource("api/events?" + q.toString());
  const handler = (m: MessageEvent) => {
    try {
      on(JSON.parse(m.data) as ApiEvent);
    } catch {
      /* not JSON: ignore */
    }
  };
  for (const type of EVENT_TYPES) es.addEventListener(type, handler as EventListener);
  es.onmessage = handler;
  es.onopen = () => onState?.(true);
  es.onerror = () => onState?.(false);
  return () => es.close();
}
