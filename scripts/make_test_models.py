#!/usr/bin/env python3
"""Generates the tiny test models and their golden logits (run once; the output is committed).

Writes e2e/fixtures/models/<name>/ in exactly the Hugging Face layouts:
  config.json, model.safetensors (or shards + model.safetensors.index.json), tokenizer.json,
  tokenizer_config.json, and golden.json = logits computed here, in float64, by an independent
  PyTorch implementation of GPT-2 and Llama / Qwen2 (HF semantics: Conv1D, gelu_new, RMSNorm,
  rotate-half RoPE, grouped-query attention, tied embeddings), from the weights as stored
  (F16 / BF16 rounded). tiny-bert is a BERT sentence encoder (HF BertModel / all-MiniLM-L6-v2
  layout, WordPiece tokenizer) whose golden.json holds the last hidden states and mean-pooled,
  L2-normalised embeddings of a padded batch of sentences instead of logits.

Needs only Debian's python3-torch:  python3 scripts/make_test_models.py [fixture names...]
(MOR1E_FIXTURES_OUT=dir writes elsewhere, e.g. to check that the committed fixtures reproduce.)
"""
import json
import math
import os
import re
import struct
import sys
import unicodedata
from collections import Counter

import torch

ROOT = os.environ.get("MOR1E_FIXTURES_OUT") or os.path.join(os.path.dirname(__file__), '..', 'e2e', 'fixtures', 'models')
CORPUS = (
    "the quick brown fox jumps over the lazy dog. the dog sleeps; the fox runs. "
    "question: which animal runs? answer: the fox. question: is the dog lazy? answer: yes. "
    "hello world, hello there. a b c d e f g h i j k l m n o p q r s t u v w x y z. "
    "mixture of rank one experts routes each token to the experts it needs. "
)
GOLDEN_TEXT_IDS = None  # filled per tokenizer below
ONLY = sys.argv[1:]  # fixture names to write (default: all)


# ---------------------------------------------------------------- tokenizers (BPE, trained here)

def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def train_merges(words, n_merges):
    words = Counter(tuple(w) for w in words)
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        new = Counter()
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += c
        words = new
    return merges


GPT2_SPLIT = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def byte_level_tokenizer(specials):
    b2u = bytes_to_unicode()
    alphabet = [b2u[b] for b in range(256)]
    words = re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", CORPUS)
    words = [''.join(b2u[b] for b in w.encode('utf-8')) for w in words]
    merges = train_merges(words, 48)
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    added = []
    for s in specials:
        added.append({"id": len(vocab), "content": s, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True})
        vocab[s] = len(vocab)
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
                  "merges": [[a, b] for a, b in merges]},
    }
    return tok, len(vocab)


def sentencepiece_tokenizer():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    text = "▁" + CORPUS.replace(" ", "▁")
    chars = sorted(set(text))
    for ch in chars:
        if ch not in vocab:
            vocab[ch] = len(vocab)
    words = [("▁" + w) for w in CORPUS.split(" ") if w]
    merges = train_merges(words, 48)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for c, i in (("<unk>", 0), ("<s>", 1), ("</s>", 2))
        ],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False, "vocab": vocab,
                  "merges": [[a, b] for a, b in merges]},
    }
    return tok, len(vocab)


CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


# ---------------------------------------------------------------- weights and models

def rnd(g, *shape, std=0.1):
    return torch.randn(*shape, generator=g, dtype=torch.float64) * std


def gpt2_weights(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    C, V, L, P, I = cfg["n_embd"], cfg["vocab_size"], cfg["n_layer"], cfg["n_positions"], 4 * cfg["n_embd"]
    w = {"transformer.wte.weight": rnd(g, V, C, std=0.2), "transformer.wpe.weight": rnd(g, P, C, std=0.05)}
    for l in range(L):
        p = f"transformer.h.{l}."
        w[p + "ln_1.weight"] = 1 + rnd(g, C)
        w[p + "ln_1.bias"] = rnd(g, C)
        w[p + "attn.c_attn.weight"] = rnd(g, C, 3 * C, std=0.15)
        w[p + "attn.c_attn.bias"] = rnd(g, 3 * C)
        w[p + "attn.c_proj.weight"] = rnd(g, C, C)
        w[p + "attn.c_proj.bias"] = rnd(g, C)
        w[p + "ln_2.weight"] = 1 + rnd(g, C)
        w[p + "ln_2.bias"] = rnd(g, C)
        w[p + "mlp.c_fc.weight"] = rnd(g, C, I)
        w[p + "mlp.c_fc.bias"] = rnd(g, I)
        w[p + "mlp.c_proj.weight"] = rnd(g, I, C)
        w[p + "mlp.c_proj.bias"] = rnd(g, C)
    w["transformer.ln_f.weight"] = 1 + rnd(g, C)
    w["transformer.ln_f.bias"] = rnd(g, C)
    return w


def llama_weights(cfg, seed, qkv_bias):
    g = torch.Generator().manual_seed(seed)
    C, V, L, I = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    NH, NKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = C // NH
    w = {"model.embed_tokens.weight": rnd(g, V, C, std=0.2)}
    for l in range(L):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + rnd(g, C)
        w[p + "self_attn.q_proj.weight"] = rnd(g, NH * D, C, std=0.15)
        w[p + "self_attn.k_proj.weight"] = rnd(g, NKV * D, C, std=0.15)
        w[p + "self_attn.v_proj.weight"] = rnd(g, NKV * D, C)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = rnd(g, NH * D)
            w[p + "self_attn.k_proj.bias"] = rnd(g, NKV * D)
            w[p + "self_attn.v_proj.bias"] = rnd(g, NKV * D)
        w[p + "self_attn.o_proj.weight"] = rnd(g, C, NH * D)
        w[p + "post_attention_layernorm.weight"] = 1 + rnd(g, C)
        w[p + "mlp.gate_proj.weight"] = rnd(g, I, C)
        w[p + "mlp.up_proj.weight"] = rnd(g, I, C)
        w[p + "mlp.down_proj.weight"] = rnd(g, C, I)
    w["model.norm.weight"] = 1 + rnd(g, C)
    if not cfg.get("tie_word_embeddings", False):
        w["lm_head.weight"] = rnd(g, V, C, std=0.2)
    return w


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))


def attend(q, k, v):
    # q: (H, T, D), k, v: (H, T, D) (kv heads already repeated)
    T, D = q.shape[1], q.shape[2]
    s = q @ k.transpose(1, 2) / math.sqrt(D)
    s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float('-inf'))
    return torch.softmax(s, -1) @ v


def conv1d(w, name, x):
    """GPT-2's Conv1D: W stored (in, out)."""
    return x @ w[name + ".weight"] + w[name + ".bias"]


def linear(w, name, x):
    """nn.Linear: W stored (out, in), optional bias."""
    y = x @ w[name + ".weight"].T
    b = w.get(name + ".bias")
    return y + b if b is not None else y


def gpt2_forward(cfg, w, ids, lin=conv1d):
    """lin(w, module path, x): each block's projection (scripts/export_fixtures.py adds adapters there)."""
    C, NH, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    D, T = C // NH, len(ids)
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][:T]
    for l in range(cfg["n_layer"]):
        p = f"transformer.h.{l}."
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = lin(w, p + "attn.c_attn", h)
        q, k, v = (t.view(T, NH, D).transpose(0, 1) for t in qkv.split(C, -1))
        a = attend(q, k, v).transpose(0, 1).reshape(T, C)
        x = x + lin(w, p + "attn.c_proj", a)
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        u = lin(w, p + "mlp.c_fc", h)
        u = 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))
        x = x + lin(w, p + "mlp.c_proj", u)
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], eps)
    return x @ w["transformer.wte.weight"].T


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


def llama_forward(cfg, w, ids, lin=linear):
    C, NH, NKV, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
    D, T = C // NH, len(ids)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos(), emb.sin()
    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name, n):
            return lin(w, p + f"self_attn.{name}", h).view(T, n, D).transpose(0, 1)

        q, k, v = proj("q_proj", NH), proj("k_proj", NKV), proj("v_proj", NKV)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(NH // NKV, 0)
        v = v.repeat_interleave(NH // NKV, 0)
        a = attend(q, k, v).transpose(0, 1).reshape(T, NH * D)
        x = x + lin(w, p + "self_attn.o_proj", a)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = lin(w, p + "mlp.gate_proj", h)
        u = lin(w, p + "mlp.up_proj", h)
        x = x + lin(w, p + "mlp.down_proj", g * torch.sigmoid(g) * u)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T


# ---------------------------------------------------------------- safetensors

DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def tensor_bytes(t, dtype):
    t = t.to(DT[dtype]).contiguous()
    if dtype == "BF16":
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, dtype, dtypes=None):
    """dtypes: per-tensor dtype overrides (e.g. BERT's int64 position_ids buffer)."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        dt = (dtypes or {}).get(name, dtype)
        b = tensor_bytes(t, dt)
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def stored(w, dtype):
    """The weights as the file holds them, back in float64 (what the golden logits use)."""
    return {k: v.to(DT[dtype]).to(torch.float64) for k, v in w.items()}


def write_model(name, cfg, tok, tok_cfg, weights, forward, dtype, golden_ids, shards=1):
    if ONLY and name not in ONLY:
        return
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    cfg = dict(cfg, torch_dtype={"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype])
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f, indent=2, ensure_ascii=False)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), weights, dtype)
    else:
        names = list(weights)
        per = math.ceil(len(names) / shards)
        index = {"metadata": {"total_size": 0}, "weight_map": {}}
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: weights[n] for n in names[s * per:(s + 1) * per]}
            write_safetensors(os.path.join(d, fname), part, dtype)
            for n in part:
                index["weight_map"][n] = fname
                index["metadata"]["total_size"] += part[n].numel() * (4 if dtype == "F32" else 2)
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2)
    w64 = stored(weights, dtype)
    logits = forward(cfg, w64, golden_ids)
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump({"ids": golden_ids, "vocab_size": cfg["vocab_size"], "dtype": dtype,
                   "note": "float64 logits from scripts/make_test_models.py (PyTorch), rows = tokens",
                   "logits": [float("%.9g" % v) for v in logits.flatten().tolist()]}, f)
    print(f"{name}: {sum(t.numel() for t in weights.values())} parameters, {dtype}, golden logits {tuple(logits.shape)}")


# ---------------------------------------------------------------- BERT sentence encoder (all-MiniLM-L6-v2 layout)
#
# HF BertModel semantics written out here: word + learned position + token-type (0) embeddings,
# LayerNorm, post-LN blocks (self-attention over every key that the attention_mask keeps, out
# projection, residual, LayerNorm; intermediate dense, exact erf GELU, output dense, residual,
# LayerNorm), then sentence-transformers' mean pooling over real tokens and L2 normalisation.
# The WordPiece tokenizer (BertNormalizer, BertPreTokenizer, WordPiece, [CLS] A [SEP]) is also
# written out here, so the golden ids do not come from the library under test.

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_WORDS = ("the quick brown fox jump over lazy dog hello world expert route router token learn cluster "
              "cafe naive resume an is of to and in it mix rank one").split()
BERT_PIECES = ["##s", "##ed", "##ing", "##er", "##ly"]
BERT_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello,\tworld!",
    "Experts route tokens; the router learns clusters.",
    "Café naïve résumé? Xylophone!",
    "a",
    " ".join(["The quick brown fox jumps over the lazy dog."] * 4),  # longer than the 32 positions: truncated
]


def bert_vocab():
    toks = BERT_SPECIALS + list(".,!?;:'-()") + [chr(c) for c in range(ord('a'), ord('z') + 1)]
    toks += [w for w in BERT_WORDS if w not in toks] + BERT_PIECES
    return {t: i for i, t in enumerate(toks)}


def bert_is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def bert_normalize(text):
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents = lowercase, lowercase)."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")):
            continue
        out.append(" " if ch in " \t\n\r" or unicodedata.category(ch) == "Zs" else ch)
    text = "".join(out)
    text = "".join(f" {ch} " if 0x4E00 <= ord(ch) <= 0x9FFF else ch for ch in text)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    return text.lower()


def bert_pre_tokenize(text):
    words = []
    for w in text.split():
        cur = ""
        for ch in w:
            if bert_is_punct(ch):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


def wordpiece(word, vocab):
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, cur = len(word), None
        while start < end:
            sub = ("##" if start > 0 else "") + word[start:end]
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return ["[UNK]"]
        pieces.append(cur)
        start = end
    return pieces


def bert_encode(text, vocab, max_len):
    """[CLS] pieces [SEP], the pieces truncated so that the whole fits max_len (HF truncation)."""
    pieces = [p for w in bert_pre_tokenize(bert_normalize(text)) for p in wordpiece(w, vocab)]
    pieces = pieces[:max_len - 2]
    return [vocab["[CLS]"]] + [vocab[p] for p in pieces] + [vocab["[SEP]"]]


def bert_tokenizer(vocab, max_len):
    cls_sep = {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")}
    return {
        "version": "1.0",
        # As in all-MiniLM-L6-v2's tokenizer.json: truncation and fixed padding that callers
        # (sentence-transformers, transformers) override per call; they must not leak into ids.
        "truncation": {"direction": "Right", "max_length": 128, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 128}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 0,
                    "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t in BERT_SPECIALS],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                           "special_tokens": cls_sep},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": vocab},
    }


def bert_weights(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    C, V, L, P, I = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"], cfg["max_position_embeddings"], cfg["intermediate_size"]
    w = {"embeddings.word_embeddings.weight": rnd(g, V, C, std=0.5),
         "embeddings.position_embeddings.weight": rnd(g, P, C, std=0.2),
         "embeddings.token_type_embeddings.weight": rnd(g, cfg["type_vocab_size"], C, std=0.2),
         "embeddings.LayerNorm.weight": 1 + rnd(g, C), "embeddings.LayerNorm.bias": rnd(g, C)}
    for l in range(L):
        p = f"encoder.layer.{l}."
        for n in ("query", "key", "value"):
            w[p + f"attention.self.{n}.weight"] = rnd(g, C, C, std=0.3)
            w[p + f"attention.self.{n}.bias"] = rnd(g, C)
        w[p + "attention.output.dense.weight"] = rnd(g, C, C, std=0.2)
        w[p + "attention.output.dense.bias"] = rnd(g, C)
        w[p + "attention.output.LayerNorm.weight"] = 1 + rnd(g, C)
        w[p + "attention.output.LayerNorm.bias"] = rnd(g, C)
        w[p + "intermediate.dense.weight"] = rnd(g, I, C, std=0.3)
        w[p + "intermediate.dense.bias"] = rnd(g, I)
        w[p + "output.dense.weight"] = rnd(g, C, I, std=0.2)
        w[p + "output.dense.bias"] = rnd(g, C)
        w[p + "output.LayerNorm.weight"] = 1 + rnd(g, C)
        w[p + "output.LayerNorm.bias"] = rnd(g, C)
    # Stored by real checkpoints but unused by a sentence encoder: the pooler and (transformers
    # 3.1 - 4.30) the int64 position_ids buffer.
    w["pooler.dense.weight"] = rnd(g, C, C)
    w["pooler.dense.bias"] = rnd(g, C)
    w["embeddings.position_ids"] = torch.arange(P, dtype=torch.float64).view(1, P)
    return w


def bert_forward(cfg, w, ids, mask):
    """Last hidden states (B, T, C) of a right-padded batch, as HF BertModel computes them."""
    C, NH, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    B, T = ids.shape
    D = C // NH
    lin = lambda x, name: x @ w[name + ".weight"].T + w[name + ".bias"]
    ln = lambda x, name: layer_norm(x, w[name + ".weight"], w[name + ".bias"], eps)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T] \
        + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    x = ln(x, "embeddings.LayerNorm")
    ext = (1.0 - mask.to(torch.float64))[:, None, None, :] * torch.finfo(torch.float64).min
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        heads = lambda t: t.view(B, T, NH, D).transpose(1, 2)
        q, k, v = (heads(lin(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        s = q @ k.transpose(-1, -2) / math.sqrt(D) + ext
        a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, C)
        x = ln(lin(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        u = lin(x, p + "intermediate.dense")
        u = 0.5 * u * (1.0 + torch.erf(u / math.sqrt(2.0)))
        x = ln(lin(u, p + "output.dense") + x, p + "output.LayerNorm")
    return x


def mean_pool_normalize(h, mask):
    m = mask.to(torch.float64)[:, :, None]
    e = (h * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    return e / torch.clamp(e.norm(dim=1, keepdim=True), min=1e-12)


def write_bert(name, seed=4):
    if ONLY and name not in ONLY:
        return
    vocab = bert_vocab()
    P = 32
    cfg = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": len(vocab), "hidden_size": 32,
           "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
           "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": P,
           "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
           "position_embedding_type": "absolute", "use_cache": True, "classifier_dropout": None, "torch_dtype": "float32"}
    tok_cfg = {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True, "model_max_length": P,
               "tokenizer_class": "BertTokenizer", "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
               "unk_token": "[UNK]", "mask_token": "[MASK]"}
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(bert_tokenizer(vocab, P), f, ensure_ascii=False)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(tok_cfg, f, indent=2)
    w = bert_weights(cfg, seed)
    write_safetensors(os.path.join(d, "model.safetensors"), w, "F32", {"embeddings.position_ids": "I64"})
    w64 = stored({k: v for k, v in w.items() if k != "embeddings.position_ids"}, "F32")

    ids = [bert_encode(t, vocab, P) for t in BERT_TEXTS]
    T = max(len(i) for i in ids)
    batch = torch.tensor([i + [vocab["[PAD]"]] * (T - len(i)) for i in ids])
    mask = torch.tensor([[1] * len(i) + [0] * (T - len(i)) for i in ids])
    h = bert_forward(cfg, w64, batch, mask)
    e = mean_pool_normalize(h, mask)
    # Padding must not change a sentence: each one alone gives the same embedding.
    for b, i in enumerate(ids):
        one = torch.tensor([i])
        e1 = mean_pool_normalize(bert_forward(cfg, w64, one, torch.ones_like(one)), torch.ones_like(one))
        assert torch.allclose(e1[0], e[b], atol=1e-12, rtol=0), f"padding changed sentence {b}"
    g = lambda t: [float("%.12g" % v) for v in t.flatten().tolist()]
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump({"kind": "encoder", "texts": BERT_TEXTS, "ids": ids, "pad_id": vocab["[PAD]"], "B": len(ids), "T": T,
                   "hidden": cfg["hidden_size"], "dtype": "F32",
                   "note": "float64 from scripts/make_test_models.py (PyTorch): last_hidden_state (B, T, C) of the right-padded "
                           "batch with its attention_mask (padded rows included), and the mask-weighted mean-pooled, "
                           "L2-normalised sentence embeddings (B, C)",
                   "last_hidden_state": g(h), "embeddings": g(e)}, f)
    print(f"{name}: {sum(t.numel() for t in w.values())} values, F32, golden embeddings {tuple(e.shape)}, ids {[len(i) for i in ids]}")


def main():
    gtok, gsize = byte_level_tokenizer(["<|endoftext|>"])
    gpt2_cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": gsize, "n_embd": 64, "n_head": 4,
                "n_layer": 2, "n_positions": 128, "n_ctx": 128, "n_inner": None, "activation_function": "gelu_new",
                "layer_norm_epsilon": 1e-5, "bos_token_id": gsize - 1, "eos_token_id": gsize - 1}
    gtok_cfg = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                "model_max_length": 128, "tokenizer_class": "GPT2Tokenizer", "add_prefix_space": False}
    ids = [5, 71, 260, 12, 99, 3, 200, 64, 64, 150, 7, 281]
    w = gpt2_weights(gpt2_cfg, 1)
    for dt in ("F32", "F16", "BF16"):
        write_model("tiny-gpt2" + ("" if dt == "F32" else "-" + dt.lower()), gpt2_cfg, gtok, gtok_cfg, w, gpt2_forward, dt, ids)

    stok, ssize = sentencepiece_tokenizer()
    llama_cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": ssize + 3, "hidden_size": 64,
                 "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
                 "tie_word_embeddings": False, "attention_bias": False, "rope_scaling": None, "bos_token_id": 1, "eos_token_id": 2}
    stok_cfg = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True, "add_eos_token": False,
                "model_max_length": 128, "tokenizer_class": "LlamaTokenizer"}
    lids = [1, 40, 290, 7, 300, 120, 3, 77, 77, 261, 19]
    w = llama_weights(llama_cfg, 2, qkv_bias=False)
    for dt in ("F32", "F16", "BF16"):
        write_model("tiny-llama" + ("" if dt == "F32" else "-" + dt.lower()), llama_cfg, stok, stok_cfg, w, llama_forward, dt, lids)
    write_model("tiny-llama-sharded", llama_cfg, stok, stok_cfg, w, llama_forward, "F32", lids, shards=2)

    qtok, qsize = byte_level_tokenizer(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    qwen_cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": qsize, "hidden_size": 64,
                "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
                "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "hidden_act": "silu",
                "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 128, "rope_scaling": None,
                "bos_token_id": qsize - 3, "eos_token_id": qsize - 1}
    qtok_cfg = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
                "model_max_length": 128, "tokenizer_class": "Qwen2Tokenizer", "chat_template": CHATML}
    qids = [qsize - 2, 40, 41, 100, 255, 3, qsize - 1, 9, 260]
    w = llama_weights(qwen_cfg, 3, qkv_bias=True)
    for dt in ("F32", "F16", "BF16"):
        write_model("tiny-qwen2" + ("" if dt == "F32" else "-" + dt.lower()), qwen_cfg, qtok, qtok_cfg, w, llama_forward, dt, qids)

    write_bert("tiny-bert")


if __name__ == "__main__":
    main()
