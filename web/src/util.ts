export const fmtTime = (unixSeconds?: number) => (unixSeconds ? new Date(unixSeconds * 1000).toLocaleString() : "—");
export const fmtMsTime = (ms: number) => new Date(ms).toLocaleTimeString();
export const fmtMsDateTime = (ms: number) => new Date(ms).toLocaleString();
export const ago = (unixSeconds?: number) => {
  if (!unixSeconds) return "";
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
};
