"""The native peer for `make bench`: sentence-transformers (PyTorch) embedding the same texts as
`ayuda embed`, with the same model folder, on the same number of threads.

Run by tools/bench.sh inside a throwaway virtual environment (never by the tests). Prints one JSON
line: texts per second over the encoding alone (loading PyTorch and the model is left out, which
favours the peer), its peak memory, and, when ayuda's vectors are given, how close the two
engines' vectors are (the lowest cosine), so the speed compared is for the same answer.

usage: bench_native_peer.py MODEL_DIR TEXTS_FILE THREADS [AYUDA_JSONL]
"""

import json
import resource
import sys
import time


def main() -> None:
    model_dir, texts_file, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ayuda_jsonl = sys.argv[4] if len(sys.argv) > 4 else None

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    with open(texts_file, encoding="utf-8") as f:
        texts = f.read().split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    model = SentenceTransformer(model_dir, device="cpu")
    # One short pass first, so one-time set-up inside PyTorch is not counted against it.
    model.encode(texts[:32], batch_size=32)
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    seconds = time.perf_counter() - start

    line = {
        "texts": len(texts),
        "threads": threads,
        "batch": 32,
        "torch": torch.__version__,
        "texts_per_s": round(len(texts) / seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if ayuda_jsonl:
        lowest = 1.0
        with open(ayuda_jsonl, encoding="utf-8") as f:
            for i, raw in enumerate(f):
                theirs = json.loads(raw)["embedding"]
                ours = vectors[i]
                dot = sum(float(a) * float(b) for a, b in zip(ours, theirs))
                norm = sum(float(b) * float(b) for b in theirs) ** 0.5
                lowest = min(lowest, dot / max(norm, 1e-12))
        line["lowest_cosine_to_ayuda"] = round(lowest, 5)
    print(json.dumps({"sentence_transformers_1000": line}))


if __name__ == "__main__":
    main()
