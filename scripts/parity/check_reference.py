#!/usr/bin/env python3
"""Check the reference server's echoed log-probs against llama.cpp's logits, directly.

Before trusting lm-eval's `gguf` model + llama-cpp-python's server as the reference
for yardstick, this script sends real ARC-Easy loglikelihood requests through
lm-eval's own client code (`GGUFLM.gguf_completion`, then `get_result`, exactly what
`lm_eval --model gguf` does per request) and compares the result with a direct
computation in this process:

    llm = llama_cpp.Llama(model, logits_all=True, n_ctx=2048, n_batch=512)
    ctx_ids, cont_ids = lm-eval `_encode_pair(context, continuation)`
        (tokenize with add_bos as the GGUF says, special=False)
    llm.reset(); llm.eval(ctx_ids + cont_ids)
    ll = sum over continuation positions p of log_softmax(scores[p-1])[token_p] (float64)
    is_greedy = every continuation token is the argmax of its row

Requests: context "Question: {question}\\nAnswer:", continuation " {choice}", for the
first --questions documents of the ARC-Easy test split (one request per choice).

For each server configuration in --configs (a `reference_server.py --patches` value;
`none` is the stock server, `all` every patch) it starts the server on 127.0.0.1,
runs the requests in order, stops the server, and prints the max |Δll|, how many
requests differ by more than --tol, and how many `is_greedy` flags differ, split by
whether the model's greedy token after the continuation is end-of-generation (trap b)
or not. Exit status 1 when any configuration that ran mismatches (so `--configs
none,all` exits 1 by design: it shows the stock server failing).

Usage:
    check_reference.py --model M.gguf [--model M2.gguf] [--questions 10]
        [--configs none,all] [--threads 2] [--port 8765] [--url http://127.0.0.1:PORT]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import llama_cpp
from llama_cpp import Llama

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity import wait_for_server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ARC_EASY = "/work/shared/data/hf/allenai/ai2_arc/ARC-Easy/test.jsonl"


def arc_requests(path, n_docs):
    """lm-eval arc_easy loglikelihood requests: (doc_index, choice_index, ctx, cont)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= n_docs:
                break
            doc = json.loads(line)
            ctx = "Question: " + doc["question"] + "\nAnswer:"
            for j, choice in enumerate(doc["choices"]["text"]):
                out.append((i, j, ctx, " " + choice))
    return out


def encode_pair(llm, context, continuation):
    """lm-eval's `_encode_pair`: trailing context whitespace moves to the continuation;
    continuation ids are what enc(ctx + cont) has beyond len(enc(ctx))."""
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    enc = lambda s: llm.tokenize(s.encode("utf-8"), add_bos=True, special=False)
    whole = enc(context + continuation)
    ctx = enc(context)
    return ctx, whole[len(ctx):]


def log_softmax64(row):
    x = row.astype(np.float64)
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def direct_scores(model, requests, threads):
    """(ll, is_greedy, next_is_eog, n_cont_tokens) per request, from direct logits."""
    llm = Llama(
        model_path=model,
        logits_all=True,
        n_ctx=2048,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    out = []
    for _, _, ctx, cont in requests:
        ctx_ids, cont_ids = encode_pair(llm, ctx, cont)
        toks = ctx_ids + cont_ids
        llm.reset()
        llm.eval(toks)
        scores = np.array(llm.scores[: len(toks)], dtype=np.float32)
        ll, greedy = 0.0, True
        for k, tok in enumerate(cont_ids):
            row = scores[len(ctx_ids) + k - 1]
            ll += float(log_softmax64(row)[tok])
            greedy = greedy and int(np.argmax(row)) == tok
        nxt = int(np.argmax(scores[-1]))
        eog = bool(llama_cpp.llama_token_is_eog(llm._model.vocab, nxt))
        out.append((ll, greedy, eog, len(cont_ids)))
    add_bos = bool(llm._model.add_bos_token())
    del llm
    return out, add_bos


def start_server(model, port, threads, patches):
    cmd = [
        sys.executable,
        os.path.join(HERE, "reference_server.py"),
        "--model", model,
        "--port", str(port),
        "--threads", str(threads),
        "--patches", patches,
    ]
    proc = subprocess.Popen(cmd)
    return proc


def server_scores(url, requests):
    """(ll, is_greedy, n_cont_tokens) per request, as lm-eval's gguf model gets them."""
    from lm_eval.models.gguf import GGUFLM, get_result

    lm = GGUFLM(base_url=url)
    out = []
    for _, _, ctx, cont in requests:
        resp = lm.gguf_completion(context=ctx, continuation=cont)
        lp = resp["choices"][0]["logprobs"]
        ll, greedy = get_result(lp, len(ctx))
        idx = next(i for i, o in enumerate(lp["text_offset"]) if o >= len(ctx))
        out.append((ll, greedy, len(lp["tokens"]) - 1 - idx))
    return out


def compare(requests, direct, served, tol):
    diffs = np.array([abs(s[0] - d[0]) for s, d in zip(served, direct)])
    bad = diffs > tol
    eog = np.array([d[2] for d in direct])
    greedy_bad = np.array([s[1] != d[1] for s, d in zip(served, direct)])
    ntok_bad = np.array([s[2] != d[3] for s, d in zip(served, direct)])
    return {
        "requests": len(direct),
        "max_abs_dll": float(diffs.max()),
        "median_abs_dll": float(np.median(diffs)),
        "mismatch": int(bad.sum()),
        "eog_next": int(eog.sum()),
        "docs": len({r[0] for r in requests}),
        "eog_next_docs": len({r[0] for r, e in zip(requests, eog) if e}),
        "mismatch_eog_next": int((bad & eog).sum()),
        "max_abs_dll_eog_next": float(diffs[eog].max()) if eog.any() else 0.0,
        "mismatch_other": int((bad & ~eog).sum()),
        "max_abs_dll_other": float(diffs[~eog].max()) if (~eog).any() else 0.0,
        "greedy_mismatch": int(greedy_bad.sum()),
        "cont_token_count_mismatch": int(ntok_bad.sum()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, help="GGUF file (repeatable)")
    ap.add_argument("--questions", type=int, default=10, help="first N ARC-Easy test docs")
    ap.add_argument("--data", default=ARC_EASY, help="ARC-Easy test.jsonl (hub schema)")
    ap.add_argument(
        "--configs",
        default="none,all",
        help="server patch sets to test, comma-separated; within one, join patches "
        "with '+' (e.g. none,fresh,fresh+echo,all)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--url", help="use this running server instead of starting one "
                    "(tests only that server; --configs is ignored)")
    ap.add_argument("--tol", type=float, default=1e-3,
                    help="allowed |Δll| per request in nats (float32 vs float64 log-softmax)")
    ap.add_argument("--json-out", help="also write the figures here")
    args = ap.parse_args()

    requests = arc_requests(args.data, args.questions)
    configs = ["(given url)"] if args.url else [c.replace("+", ",") for c in args.configs.split(",")]
    report = []
    failed = False
    for model in args.model:
        t0 = time.time()
        direct, add_bos = direct_scores(model, requests, args.threads)
        print(
            f"\n{os.path.basename(model)} (add_bos={add_bos}): {len(requests)} requests "
            f"from {args.questions} ARC-Easy docs; direct logits in {time.time() - t0:.0f}s; "
            f"greedy next token is EOG for {sum(d[2] for d in direct)} requests in "
            f"{len({r[0] for r, d in zip(requests, direct) if d[2]})} docs",
            flush=True,
        )
        for cfg in configs:
            proc = None
            url = args.url
            if url is None:
                url = f"http://127.0.0.1:{args.port}"
                proc = start_server(model, args.port, args.threads, cfg)
            try:
                wait_for_server(url, proc)
                t0 = time.time()
                served = server_scores(url, requests)
                secs = time.time() - t0
            finally:
                if proc is not None:
                    proc.terminate()
                    proc.wait(timeout=60)
            res = compare(requests, direct, served, args.tol)
            res.update(model=os.path.basename(model), add_bos=add_bos, config=cfg,
                       server_seconds=round(secs, 1))
            report.append(res)
            ok = res["mismatch"] == 0 and res["greedy_mismatch"] == 0
            failed |= not ok
            print(
                f"  patches={cfg:<18} max|Δll|={res['max_abs_dll']:.3g} "
                f"(median {res['median_abs_dll']:.2g}); >tol: {res['mismatch']}/{res['requests']} "
                f"[EOG-next {res['mismatch_eog_next']}/{res['eog_next']}, max {res['max_abs_dll_eog_next']:.3g}; "
                f"other {res['mismatch_other']}/{res['requests'] - res['eog_next']}, "
                f"max {res['max_abs_dll_other']:.3g}]; is_greedy differs: {res['greedy_mismatch']}; "
                f"cont-token count differs: {res['cont_token_count_mismatch']}; "
                f"{secs:.0f}s -> {'OK' if ok else 'MISMATCH'}",
                flush=True,
            )
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
