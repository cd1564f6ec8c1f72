#!/usr/bin/env python3
"""Turns the dev sets in ../shared/data into what `ayuda build` and `ayuda eval` read:
a knowledge-base CSV (id,question,answer) and a labelled questions CSV (text,label) each.

    python3 tools/datasets.py DATA_DIR OUT_DIR

Writes OUT_DIR/<set>/kb.csv and OUT_DIR/<set>/queries.csv for:
  banking77      KB = train rows grouped by category; questions = test
  banking77-oos  the same with the categories at sorted positions i % 4 == 3 left out of the
                 KB and their test questions labelled "oos" (ARCHITECTURE.md, answer policy)
  stackfaq       KB = each thread's title question and first answer; questions = its
                 paraphrases (the "*" placeholders dropped)
  covid          KB = the FAQ's questions and answers; questions = the paraphrases marked
                 similar to a FAQ question
  bitext         the synthetic support set: per intent, the first 40 instructions are the
                 KB entry's phrasings (its first response the answer), the next 10 questions
  demo-es, demo-en   the demo site's visitors (tests/eval/demo-visitors.csv), split by the
                 question's language; the KB is the demo site itself (www/demo), so only
                 queries.csv is written
  clinic-es, clinic-en   a bilingual dental clinic's FAQ, one question per entry
                 (tests/eval/clinic-faq.csv, copied as kb.csv), and its visitors
                 (tests/eval/clinic-visitors.csv) split by the question's language
  bikes          a Spanish bicycle shop's FAQ, one question per entry (tests/eval/bikes-faq.csv)
                 and its visitors (tests/eval/bikes-visitors.csv)
Only the standard library, so it runs wherever Python does.
"""
import csv
import json
import sys
from pathlib import Path


def write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def banking77(data, out):
    train = read_csv(data / "banking77" / "train.csv")
    test = read_csv(data / "banking77" / "test.csv")
    answer = lambda c: "Answer about " + c.replace("_", " ") + "."
    cats = sorted({r["category"] for r in train})
    left_out = {c for i, c in enumerate(cats) if i % 4 == 3}
    for name, drop in (("banking77", set()), ("banking77-oos", left_out)):
        kb = [(r["category"], r["text"], answer(r["category"])) for r in train if r["category"] not in drop]
        qs = [(r["text"], "oos" if r["category"] in drop else r["category"]) for r in test]
        write(out / name / "kb.csv", ["id", "question", "answer"], kb)
        write(out / name / "queries.csv", ["text", "label"], qs)


def stackfaq(data, out):
    threads = json.loads((data / "stackfaq" / "stackExchange-FAQ.json").read_text("utf-8"))["root"]["qapair"]
    kb, qs = [], []
    for i, t in enumerate(threads):
        answers = t["answer"] if isinstance(t["answer"], list) else [t["answer"]]
        kb.append((f"t{i}", t["question"], answers[0]))
        for r in t["rephr"]:
            if r and r.strip() not in ("", "*"):
                qs.append((r, f"t{i}"))
    write(out / "stackfaq" / "kb.csv", ["id", "question", "answer"], kb)
    write(out / "stackfaq" / "queries.csv", ["text", "label"], qs)


def covid(data, out):
    faq = read_csv(data / "deepset_covid_faq" / "faq_covidbert.csv")
    ids, kb = {}, []
    for r in faq:
        q = r["question"].strip()
        if q and r["answer"].strip() and q not in ids:
            ids[q] = f"c{len(ids)}"
            kb.append((ids[q], q, r["answer"].strip()))
    qs = [
        (r["question_2"], ids[r["question_1"].strip()])
        for r in read_csv(data / "deepset_covid_faq" / "eval_question_similarity_en.csv")
        if r["similar"] == "1" and r["question_1"].strip() in ids
    ]
    write(out / "covid" / "kb.csv", ["id", "question", "answer"], kb)
    write(out / "covid" / "queries.csv", ["text", "label"], qs)


def bitext(data, out):
    rows = read_csv(data / "bitext_customer_support" / "Bitext_Sample_Customer_Support_Training_Dataset.csv")
    seen, kb, qs = {}, [], []
    for r in rows:
        intent, n = r["intent"], seen.get(r["intent"], 0)
        seen[intent] = n + 1
        if n < 40:
            kb.append((intent, r["instruction"], r["response"] if n == 0 else ""))
        elif n < 50:
            qs.append((r["instruction"], intent))
    write(out / "bitext" / "kb.csv", ["id", "question", "answer"], kb)
    write(out / "bitext" / "queries.csv", ["text", "label"], qs)


EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval"


def demo(out):
    rows = read_csv(EVAL / "demo-visitors.csv")
    for lang in ("es", "en"):
        qs = [(r["text"], r["label"]) for r in rows if r["lang"] == lang]
        write(out / f"demo-{lang}" / "queries.csv", ["text", "label"], qs)


def one_question_faqs(out):
    """The FAQs written with one question per entry, as most owners write them: the KB is the
    FAQ file as it stands (all its columns), the questions split by language."""
    for name, langs in (("clinic", ("es", "en")), ("bikes", ("es",))):
        faq = (EVAL / f"{name}-faq.csv").read_text(encoding="utf-8")
        rows = read_csv(EVAL / f"{name}-visitors.csv")
        for lang in langs:
            set_name = f"{name}-{lang}" if len(langs) > 1 else name
            (out / set_name).mkdir(parents=True, exist_ok=True)
            (out / set_name / "kb.csv").write_text(faq, encoding="utf-8")
            qs = [(r["text"], r["label"]) for r in rows if r["lang"] == lang]
            write(out / set_name / "queries.csv", ["text", "label"], qs)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    banking77(data, out)
    stackfaq(data, out)
    covid(data, out)
    bitext(data, out)
    demo(out)
    one_question_faqs(out)
