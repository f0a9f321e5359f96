// Loading state without a race (PROTOCOL.md §4.3): a view listens before it loads, keeps
// the events that arrive meanwhile, and once its REST state is in (with the X-Event-Seq
// it reflects) applies only the events after that state. Ephemeral events (no seq) pass.

export function liveState(bm, onEvent) {
  let loaded = null;
  const buffer = [];
  const deliver = (f) => {
    const seen = loaded[f.channel];
    if (f.seq !== undefined && f.seq !== null && seen !== undefined && f.seq <= seen) return;
    onEvent(f);
  };
  const listener = (e) => (loaded ? deliver(e.detail) : buffer.push(e.detail));
  bm.addEventListener("event", listener);
  return {
    loaded(seqs) {
      loaded = { ...(loaded || {}), ...seqs };
      for (const f of buffer.splice(0)) deliver(f);
    },
    stop() { bm.removeEventListener("event", listener); },
  };
}
