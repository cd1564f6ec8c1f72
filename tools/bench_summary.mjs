// Reads run.mjs's JSON lines on stdin; prints them without vectors, then ayuda's ratios to the
// peer and the agreement between the two engines' vectors (mean and min cosine), and the
// multilingual model's ratios to the same peer.
import { createInterface } from 'node:readline';
const results = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim()) results.push(JSON.parse(line));
}
for (const r of results) console.log(JSON.stringify({ ...r, vectors: undefined }));
const peer = results.find((r) => r.engine === 'transformers.js');
const ours = results.find((r) => r.engine === 'ayuda' && !/multilingual/.test(r.model || ''));
// The multilingual model does twice the work (12 layers): its ratios to the same peer running
// all-MiniLM-L6-v2 say what Spanish costs.
const multi = results.find((r) => r.engine === 'ayuda' && /multilingual/.test(r.model || ''));
if (peer && multi) {
  const ratio = (k) => +(multi[k] / peer[k]).toFixed(3);
  console.log(JSON.stringify({
    ratio_multilingual_to_peer_minilm: { p50_ms: ratio('p50_ms'), p90_ms: ratio('p90_ms'), ready_ms: ratio('ready_ms'), bytes: ratio('bytes') },
  }));
}
if (peer && ours) {
  const cos = ours.vectors.map((v, i) => {
    const w = peer.vectors[i];
    let d = 0, a = 0, b = 0;
    for (let k = 0; k < v.length; k++) { d += v[k] * w[k]; a += v[k] * v[k]; b += w[k] * w[k]; }
    return d / Math.sqrt(a * b);
  });
  const ratio = (k) => +(ours[k] / peer[k]).toFixed(3);
  console.log(JSON.stringify({
    ratio_ayuda_to_peer: { p50_ms: ratio('p50_ms'), p90_ms: ratio('p90_ms'), ready_ms: ratio('ready_ms'), bytes: ratio('bytes') },
    cosine_between_engines: { mean: +(cos.reduce((s, c) => s + c, 0) / cos.length).toFixed(5), min: +Math.min(...cos).toFixed(5) },
  }));
}
