#!/usr/bin/env python3
"""Writes the adapter fixtures e2e/fixtures/adapters/<model>-<method>/ (run once; the output is committed).

For tiny-gpt2 and tiny-llama (e2e/fixtures/models/) and every method (T-REX top-k with a cluster
count k != E, so with the mapper; MoR1E dense; LoRA; MoLoRA; SiRA) this script draws a deterministic
random adapter and writes it in the documented formats (README "Adapter formats"), as an
implementation independent of the app's TypeScript:
  LoRA:        adapter_model.safetensors + adapter_config.json (PEFT's layout)
  the others:  adapter_model.safetensors + mor1e_config.json (+ intuition.safetensors)
then applies it with ../shared/METHOD.md's formulas, in float64, inside an independent PyTorch
forward of the model (scripts/make_test_models.py's, with each block projection replaced by the
adapted one), and writes golden.json = {ids, s, logits}: the logits (T, V) of the fixed ids with
the fixed intuition scores s (k values; null for methods without intuition).

Needs only Debian's python3-torch:  python3 scripts/export_fixtures.py
(MOR1E_ADAPTERS_OUT=dir writes elsewhere, e.g. to check that the committed fixtures reproduce.)
"""
import hashlib
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_test_models as base  # noqa: E402  (forwards, safetensors writer, rnd)

MODELS = os.path.join(HERE, "..", "e2e", "fixtures", "models")
OUT = os.environ.get("MOR1E_ADAPTERS_OUT") or os.path.join(HERE, "..", "e2e", "fixtures", "adapters")

TOKEN_COEF, TASK_COEF, GATE_SLOPE = 32, 4, 100
MOLORA_EXPERTS, SIRA_KEEP = 8, 6

# Each block's linear layers, as paths inside the block (HF module names).
BLOCK_MODULES = {
    "gpt2": ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"],
    "llama": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
              "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"],
}

FIXTURES = [
    # (model, method, sizes, target_modules, intuition)
    ("tiny-gpt2", "trex", {"r1": 2, "r2": 3, "topk": 4, "k": 5}, ["c_attn", "c_proj", "c_fc"],
     {"source": "supplied", "dim": 8, "layer": None, "encoder": None}),
    ("tiny-gpt2", "mor1e", {"E": 4, "topk": None, "k": 4}, ["c_attn", "c_fc"],
     {"source": "encoder", "dim": 32, "layer": None, "encoder": "tiny-bert"}),
    ("tiny-gpt2", "lora", {"r": 4, "alpha": 8}, ["c_attn", "attn.c_proj"], None),
    ("tiny-gpt2", "molora", {"r": 8}, ["c_attn", "c_proj", "c_fc"], None),
    ("tiny-gpt2", "sira", {"r": 16}, ["c_attn", "c_proj"], None),
    ("tiny-llama", "trex", {"r1": 2, "r2": 4, "topk": 3, "k": 3},
     ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
     {"source": "model", "dim": 64, "layer": 1, "encoder": None}),
    ("tiny-llama", "mor1e", {"E": 4, "topk": None, "k": 4}, ["q_proj", "k_proj", "v_proj", "o_proj"],
     {"source": "none", "dim": None, "layer": None, "encoder": None}),
    ("tiny-llama", "lora", {"r": 4, "alpha": 16}, ["q_proj", "v_proj"], None),
    ("tiny-llama", "molora", {"r": 16}, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], None),
    ("tiny-llama", "sira", {"r": 8}, ["gate_proj", "up_proj", "down_proj"], None),
]
IDS = {"tiny-gpt2": [5, 71, 260, 12, 99, 3, 200, 64], "tiny-llama": [1, 40, 290, 7, 300, 120, 3, 77]}


def read_safetensors(path):
    """F32 tensors of a safetensors file, as float64."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[8 + n + b:8 + n + e]), dtype=torch.float32).view(t["shape"]).to(torch.float64)
    return out


def dims(method, c):
    """(rA, rB, E, gated, k) as METHOD.md sizes each method."""
    if method == "trex":
        return c["r1"], c["r2"], c["r1"] * c["r2"], True, c["k"]
    if method == "mor1e":
        return c["E"], c["E"], c["E"], True, c["k"]
    if method == "lora":
        return c["r"], c["r"], 0, False, None
    return c["r"], c["r"], MOLORA_EXPERTS, False, None


def adapted_paths(arch, layers, targets):
    """Module paths PEFT's target_modules list selects: equal to an entry or ending with '.' + entry."""
    prefix = "transformer.h" if arch == "gpt2" else "model.layers"
    paths = [f"{prefix}.{l}.{m}" for l in range(layers) for m in BLOCK_MODULES[arch]]
    return [p for p in paths if any(p == t or p.endswith("." + t) for t in targets)]


def f32(t):
    """Rounded to what the F32 file stores, back in float64."""
    return t.to(torch.float32).to(torch.float64)


def draw_adapter(g, method, c, n, m):
    rA, rB, E, gated, k = dims(method, c)
    p = {"lora_A": base.rnd(g, rA, n, std=0.3), "lora_B": base.rnd(g, m, rB, std=0.3)}
    if E:
        p["router"] = base.rnd(g, E, n, std=0.5)
    if gated:
        p["omg"] = base.rnd(g, 1, 1, std=0.004)
        p["binary_main_gate_weight"] = base.rnd(g, 1, 1, std=0.004)
        if k != E:
            p["rank1_flex_mapper"] = base.rnd(g, E, k, std=0.5)
    return {name: f32(t) for name, t in p.items()}


def top_mask(v, keep):
    """1 at each row's `keep` largest entries (ties to the lower index), else 0."""
    order = torch.sort(v, dim=-1, descending=True, stable=True).indices[:, :keep]
    return torch.zeros_like(v).scatter(-1, order, 1.0)


def adapter_delta(method, c, p, x, s):
    """What the adapter adds to W0 x + bias for the tokens x (T, n), with the sequence's scores s (k)."""
    a = x @ p["lora_A"].T
    B = p["lora_B"]
    if method == "lora":
        return (c["alpha"] / c["r"]) * (a @ B.T)
    prob = torch.softmax(x @ p["router"].T, -1)
    if method in ("molora", "sira"):
        q = prob * top_mask(prob, SIRA_KEEP) if method == "sira" else prob
        return (a * q.repeat(1, c["r"] // MOLORA_EXPERTS)) @ B.T  # rank slot j follows expert j mod 8
    w = torch.sigmoid(GATE_SLOPE * p["omg"][0, 0])
    beta = torch.sigmoid(GATE_SLOPE * p["binary_main_gate_weight"][0, 0])
    sE = p["rank1_flex_mapper"] @ s if "rank1_flex_mapper" in p else s
    u = TOKEN_COEF * w * prob + TASK_COEF * (1 - w) * sE
    if c.get("topk") is not None and c["topk"] < u.shape[1]:
        keep = top_mask(u, c["topk"])
        pk = prob * keep / (prob * keep).sum(-1, keepdim=True)
        g = (TOKEN_COEF * w * pk + TASK_COEF * (1 - w) * sE) * keep
    else:
        g = u
    if method == "trex":
        h = torch.einsum("ti,tij->tj", a, g.view(-1, c["r1"], c["r2"]))  # h = G^T a, G[i][j] = g[i*r2 + j]
    else:
        h = a * g
    return beta * (h @ B.T)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def main():
    for i, (model, method, c, targets, intuition) in enumerate(FIXTURES):
        mdir = os.path.join(MODELS, model)
        with open(os.path.join(mdir, "config.json"), "rb") as f:
            cfg_bytes = f.read()
        cfg = json.loads(cfg_bytes)
        arch = "gpt2" if cfg["model_type"] == "gpt2" else "llama"
        w = read_safetensors(os.path.join(mdir, "model.safetensors"))
        layers = cfg["n_layer"] if arch == "gpt2" else cfg["num_hidden_layers"]
        g = torch.Generator().manual_seed(1000 + i)
        params = {}
        for path in adapted_paths(arch, layers, targets):
            W = w[path + ".weight"]
            n, m = W.shape if arch == "gpt2" else (W.shape[1], W.shape[0])
            params[path] = draw_adapter(g, method, c, n, m)
        rA, rB, E, gated, k = dims(method, c)
        s = f32(torch.randn(k, generator=g, dtype=torch.float64)) if gated else None

        d = os.path.join(OUT, f"{model}-{method}")
        os.makedirs(d, exist_ok=True)
        for stale in ("adapter_config.json", "mor1e_config.json", "intuition.safetensors"):
            if os.path.exists(os.path.join(d, stale)):
                os.remove(os.path.join(d, stale))
        tensors = {f"base_model.model.{path}.{name}.weight": t for path, p in params.items() for name, t in p.items()}
        base.write_safetensors(os.path.join(d, "adapter_model.safetensors"), tensors, "F32")
        if method == "lora":
            write_json(os.path.join(d, "adapter_config.json"), {
                "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": model, "inference_mode": True,
                "r": c["r"], "lora_alpha": c["alpha"], "lora_dropout": 0.0, "target_modules": targets,
                "fan_in_fan_out": arch == "gpt2", "bias": "none", "modules_to_save": None, "init_lora_weights": True})
        else:
            src = intuition["source"] if gated else "none"
            write_json(os.path.join(d, "mor1e_config.json"), {
                "format": "mor1e-adapter", "version": 1, "method": method,
                "r1": rA if gated else None, "r2": rB if gated else None, "E": E,
                "r": None if gated else c["r"],
                "topk": c.get("topk") if gated else (SIRA_KEEP if method == "sira" else None),
                "token_coefficient": TOKEN_COEF, "task_coefficient": TASK_COEF, "gate_slope": GATE_SLOPE,
                "target_modules": targets, "base_model_name_or_path": model,
                # One fixture records no hash (the check is skipped when it is absent).
                "base_config_sha256": None if src == "none" else hashlib.sha256(cfg_bytes).hexdigest(),
                "intuition": {"source": src, "k": k, "dim": intuition["dim"] if gated else None,
                              "layer": intuition["layer"] if gated else None, "encoder": intuition["encoder"] if gated else None},
                "use_router": True, "use_intuition": True, "lambda_entropy": 0, "lambda_load_balance": 0})
            if src != "none":
                C = torch.randn(k, intuition["dim"], generator=g, dtype=torch.float64)
                base.write_safetensors(os.path.join(d, "intuition.safetensors"), {"centroids": C / C.norm(dim=1, keepdim=True)}, "F32")

        ids = IDS[model]
        plain = base.conv1d if arch == "gpt2" else base.linear
        forward = base.gpt2_forward if arch == "gpt2" else base.llama_forward

        def lin(w_, name, x):
            y = plain(w_, name, x)
            return y + adapter_delta(method, c, params[name], x, s) if name in params else y

        logits = forward(cfg, w, ids, lin)
        moved = (logits - forward(cfg, w, ids)).abs().max().item()
        assert moved > 1e-2, f"{model}-{method}: the adapter barely changes the logits ({moved})"
        write_json(os.path.join(d, "golden.json"), {
            "model": model, "method": method, "ids": ids, "s": None if s is None else s.tolist(),
            "vocab_size": cfg["vocab_size"],
            "note": "float64 logits (T, V) from scripts/export_fixtures.py (PyTorch, METHOD.md's formulas) of the model with this adapter",
            "logits": [float("%.10g" % v) for v in logits.flatten().tolist()]})
        print(f"{model}-{method}: {len(params)} modules, {sum(t.numel() for p in params.values() for t in p.values())} values, "
              f"adapter moves the logits by up to {moved:.3f}")


if __name__ == "__main__":
    main()
