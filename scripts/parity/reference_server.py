#!/usr/bin/env python3
"""llama-cpp-python's OpenAI-compatible server, patched to be a trustworthy reference.

lm-evaluation-harness's `gguf` model scores a loglikelihood request by POSTing
`context + continuation` to `/v1/completions` with `echo: true, max_tokens: 1,
logprobs: 10, temperature: 0` and summing the echoed `token_logprobs` from the first
token whose `text_offset` reaches `len(context)` up to, but not including, the last
listed token (which it takes to be the one generated token).

llama-cpp-python 0.3.16's server gets that response wrong in two ways, and evaluates
requests in shapes that move the numbers slightly. This script starts the stock server
(`llama_cpp.server.app.create_app` under uvicorn, on 127.0.0.1) after replacing two
methods of `llama_cpp.Llama` in this process only; nothing in site-packages changes.

Patches (all on by default; `--patches none` serves the stock behaviour, for
comparison; `scripts/parity/check_reference.py` measures both):

  fresh   Every request is evaluated from an empty KV cache, all prompt tokens in one
          `eval()` (n_batch 512 chunks), exactly like `reset(); eval(ctx + cont)`.
          Stock `Llama.generate` reuses the longest common token prefix of the previous
          request and decodes only the rest; on llama.cpp's CPU kernels a different
          batch split changes the logits (Gemma 3 Q4_K_M: up to ~0.5 nats per request).

  align   Rebuilds `choices[0].logprobs` for echo requests. Stock
          `Llama._create_completion` pairs the i-th echoed token with logits row i,
          counting tokens *after* a stripped leading BOS. That is right only when the
          prompt starts with BOS. Trap (a): for a GGUF that says not to add BOS
          (SmolLM2), token j gets row j instead of row j-1 (the log-prob of a token
          given itself and what follows it), and since there is one more token than
          rows, zip() drops the last listed token, so lm-eval's `[idx:-1]` then drops
          the continuation's real last token too. The rebuilt list holds every prompt
          token after a leading BOS plus the sampled token(s); the token at absolute
          position p gets log_softmax(row p-1), computed in float32 with the server's
          own `Llama.logits_to_logprobs`, so only the alignment changes. Token strings,
          `text_offset` (characters of the decoded echo before the token), the
          OpenAI-style `None` for the first entry and `top_logprobs` (top-k by
          (logprob, id) descending, plus the token itself) keep the stock format.
          The top-k is found with argpartition rather than a Python sort of the whole
          vocabulary per token: the same result, much faster (Gemma's vocabulary has
          262144 entries).

  eog     (needs align) Also lists a sampled end-of-generation token. Trap (b): when
          the greedy token after the prompt is EOG, stock `_create_completion` stops
          before appending it to the completion, so the echo list ends with the
          prompt's last token and lm-eval's `[idx:-1]` drops the continuation's last
          token (5 of the first 40 ARC-Easy requests on SmolLM2-135M-Instruct).

  echo    Shorthand for align,eog.

  greedy  Echo requests are sampled with repeat/frequency/presence penalties off.
          The server's default `repeat_penalty` is 1.1 and lm-eval does not send one,
          so the "greedy" token it samples after the prompt can differ from the
          argmax; lm-eval's `is_greedy` check includes that sampled token, so it would
          report False for a continuation that is in fact greedy. The continuation's
          log-likelihood is unaffected either way.

Usage:
    reference_server.py --model M.gguf --port 8765 [--threads 2] [--n-ctx 2048]
                        [--patches fresh,align,eog,greedy | all | none]
"""

import argparse
import inspect
import os
import sys

import numpy as np

import llama_cpp
from llama_cpp import Llama

ALL_PATCHES = ("fresh", "align", "eog", "greedy")

_stock_generate = Llama.generate
_stock_create_completion = Llama._create_completion
_CREATE_COMPLETION_SIG = inspect.signature(_stock_create_completion)


def _generate(self, tokens, *args, **kwargs):
    """`Llama.generate` that records the prompt and every sampled token, and (with the
    `fresh` patch) forgets the previous request first.

    Setting `n_tokens = 0` makes stock `generate` skip its prefix-reuse branch and call
    `reset()`; its `eval()` then removes every KV cell (`kv_cache_seq_rm(-1, 0, -1)`)
    and decodes all prompt tokens from position 0 in n_batch-sized batches.
    """
    if "fresh" in _ACTIVE:
        self.n_tokens = 0
    record = {"prompt": list(tokens), "sampled": []}
    self._yardstick_record = record
    inner = _stock_generate(self, tokens, *args, **kwargs)
    try:
        token = next(inner)
        while True:
            record["sampled"].append(int(token))
            sent = yield token  # forward send() for callers that use it
            token = inner.send(sent)
    except StopIteration:
        return
    finally:
        inner.close()


def _top_k(row, k):
    """The k best (logprob, id) pairs of `row`, ordered as
    `sorted(zip(row, range(n)), reverse=True)[:k]` orders them (ties: higher id first)."""
    if k <= 0:
        return []
    k = min(k, row.shape[0])
    kth = np.partition(row, row.shape[0] - k)[row.shape[0] - k]
    cand = np.nonzero(row >= kth)[0]
    pairs = sorted(((row[i], int(i)) for i in cand), reverse=True)
    return pairs[:k]


def _echo_logprobs(self, record, n_top):
    """Echo logprobs with correct alignment; see `align` and `eog` in the module
    docstring."""
    prompt_tokens = record["prompt"]
    sampled = record["sampled"]
    bos = self.token_bos()
    lead = 1 if prompt_tokens[:1] == [bos] else 0  # stock output omits a leading BOS
    if "eog" not in _ACTIVE and sampled and llama_cpp.llama_token_is_eog(
            self._model.vocab, sampled[-1]):
        sampled = sampled[:-1]  # stock behaviour, kept only to measure trap (b) alone
    # Stock also skips any later token whose id is BOS; here such a token (only
    # possible when the prompt text spells a special token, which the server parses)
    # is listed like any other, since it was evaluated and has a row.
    listed = prompt_tokens[lead:] + sampled
    n_rows = self.n_tokens  # prompt + every sampled token but the last was evaluated
    assert n_rows >= lead + len(listed) - 1, (n_rows, lead, len(listed))

    pieces = [self.detokenize([t]) for t in listed]
    tokens, offsets, token_logprobs, top_logprobs = [], [], [], []
    prefix = b""
    for i, tok in enumerate(listed):
        # Characters of the decoded echo before this token, as stock computes it
        # (detokenize(listed[:i]); detokenize only strips a space after a first BOS).
        text_before = self.detokenize(listed[:i]) if listed[:1] == [bos] else prefix
        offsets.append(len(text_before.decode("utf-8", errors="ignore")))
        token_str = pieces[i].decode("utf-8", errors="ignore")
        tokens.append(token_str)
        prefix += pieces[i]
        pos = lead + i  # absolute position in the evaluated sequence
        if i == 0:
            # OpenAI's convention, kept by the stock server: no logprob for the first
            # echoed token (with lead == 0 there is no row that predicts it anyway).
            token_logprobs.append(None)
            top_logprobs.append(None)
            continue
        row = Llama.logits_to_logprobs(self.scores[pos - 1, :])  # float32, as stock
        lp = float(row[tok])
        token_logprobs.append(lp)
        top = {
            self.detokenize([j]).decode("utf-8", errors="ignore"): float(v)
            for v, j in _top_k(row, n_top)
        }
        top[token_str] = lp
        top_logprobs.append(top)
    return {
        "tokens": tokens,
        "text_offset": offsets,
        "token_logprobs": token_logprobs,
        "top_logprobs": top_logprobs,
    }


def _create_completion(self, *args, **kwargs):
    """`Llama._create_completion` with the greedy, align and eog patches for echo requests
    that ask for logprobs (lm-eval's loglikelihood requests); other requests go to the
    stock method untouched."""
    bound = _CREATE_COMPLETION_SIG.bind(self, *args, **kwargs)
    bound.apply_defaults()
    params = dict(bound.arguments)
    params.pop("self")
    scoring = params["echo"] and params["logprobs"] is not None and not params["stream"]
    if not scoring:
        yield from _stock_create_completion(self, **params)
        return
    if "greedy" in _ACTIVE:
        params.update(repeat_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0)
    self._yardstick_record = None
    if "align" in _ACTIVE:
        # Stock logprobs would be thrown away, and they cost a Python sort of the
        # whole vocabulary per echoed token: ask for none, rebuild them below.
        params["logprobs"], n_top = None, int(params["logprobs"])
    response = next(_stock_create_completion(self, **params))  # non-stream: one item
    if "align" in _ACTIVE:
        record = self._yardstick_record
        assert record is not None, "generate() was not called"
        response["choices"][0]["logprobs"] = _echo_logprobs(self, record, n_top)
    yield response


_ACTIVE = set()


def install_patches(patches=ALL_PATCHES):
    """Replace `Llama.generate` and `Llama._create_completion` in this process.

    `patches` is a subset of ALL_PATCHES; an empty one restores the stock methods."""
    patches = set(patches)
    if "echo" in patches:
        patches = (patches - {"echo"}) | {"align", "eog"}
    unknown = patches - set(ALL_PATCHES)
    if unknown:
        raise ValueError(f"unknown patches {sorted(unknown)}; known: {ALL_PATCHES}")
    if "eog" in patches and "align" not in patches:
        raise ValueError("the eog patch works on the rebuilt list: it needs align")
    _ACTIVE.clear()
    _ACTIVE.update(patches)
    if _ACTIVE:
        Llama.generate = _generate
        Llama._create_completion = _create_completion
    else:
        Llama.generate = _stock_generate
        Llama._create_completion = _stock_create_completion


def parse_patches(text):
    if text in ("", "none"):
        return ()
    if text == "all":
        return ALL_PATCHES
    return tuple(p.strip() for p in text.split(",") if p.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="GGUF model file")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--threads", type=int, default=2, help="llama.cpp CPU threads")
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument(
        "--patches",
        default="all",
        help="comma list of fresh,align,eog,greedy (echo = align,eog); "
        "'all' (default) or 'none' (stock server)",
    )
    ap.add_argument("--verbose", action="store_true", help="llama.cpp logging")
    args = ap.parse_args()

    install_patches(parse_patches(args.patches))

    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model_settings = ModelSettings(
        model=os.path.abspath(args.model),
        n_ctx=args.n_ctx,
        n_batch=512,  # as the reference fixtures: one decode call per 512 tokens
        n_ubatch=512,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        logits_all=True,
        verbose=args.verbose,
    )
    server_settings = ServerSettings(host="127.0.0.1", port=args.port)
    app = create_app(server_settings=server_settings, model_settings=[model_settings])
    print(
        f"[reference_server] llama-cpp-python {llama_cpp.__version__}, "
        f"patches: {','.join(sorted(_ACTIVE)) or 'none'}, "
        f"http://127.0.0.1:{args.port}/v1",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
