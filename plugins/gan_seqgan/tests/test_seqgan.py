"""The SeqGAN recipe: policy-gradient loss, schedule, negatives cadence, learning, text and CLI paths."""

import pytest
import torch

from gan import GanError
from gan.testing import make_recipe, run_recipe
from gan_seqgan.generator import LSTMGenerator, token_nll
from gan_seqgan.seqgan import MLEBaseline, SeqGAN, policy_gradient_loss


@pytest.fixture(autouse=True)
def one_thread():
    # small tensors: a second OpenMP thread only adds synchronisation (and stalls on a busy machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def sgd_step_changes_logp(rewards, baseline="none"):
    torch.manual_seed(0)
    g = LSTMGenerator(7, 4, 4, max_len=5)
    samples = g.sample(6)
    logp = -token_nll(g(samples), samples)
    loss, adv = policy_gradient_loss(logp, rewards, None, baseline)
    loss.backward()
    with torch.no_grad():
        before = -token_nll(g(samples), samples).sum(1)
        for p in g.parameters():
            p -= 0.05 * p.grad
        after = -token_nll(g(samples), samples).sum(1)
    return after - before, loss, logp, adv


def test_policy_gradient_raises_the_likelihood_of_rewarded_sequences():
    up, loss, logp, _ = sgd_step_changes_logp(torch.ones(6, 5))
    assert up.sum() > 0  # descending the loss makes the rewarded samples likelier
    torch.testing.assert_close(loss, -logp.sum())  # sum over batch and time, as the authors' g_loss
    down, *_ = sgd_step_changes_logp(-torch.ones(6, 5))
    assert down.sum() < 0
    # reward only the first sample: its likelihood rises (first order: lr·|grad log p|² > 0)
    r = torch.zeros(6, 5)
    r[0] = 1.0
    one, *_ = sgd_step_changes_logp(r)
    assert one[0] > 0


def test_mean_baseline_centres_rewards_per_step_and_cancels_constant_rewards():
    r = torch.rand(6, 5)
    _, loss, logp, adv = sgd_step_changes_logp(r, "mean")
    torch.testing.assert_close(adv.mean(0), torch.zeros(5), atol=1e-6, rtol=0)
    torch.testing.assert_close(loss, -(logp * (r - r.mean(0))).sum())
    # a reward that is the same for every sample carries no signal: zero gradient with the baseline
    g = LSTMGenerator(7, 4, 4, max_len=5)
    s = g.sample(6)
    loss, _ = policy_gradient_loss(-token_nll(g(s), s), torch.full((6, 5), 0.7), None, "mean")
    loss.backward()
    assert all(p.grad.abs().max() < 1e-6 for p in g.parameters())
    with pytest.raises(GanError, match="pg_baseline"):
        policy_gradient_loss(logp, r, None, "ema")


def test_stages_phases_and_the_negative_sample_cadence():
    r = make_recipe(SeqGAN, d_epochs=2, d_steps=3, g_steps=2)
    c = r.config
    stages = r.stages()
    assert [s.name for s in stages] == ["pretrain_g", "pretrain_d", "adversarial"]
    assert stages[0].steps == c.pretrain_g_epochs * (c.oracle.num_train // c.batch_size)
    per_set = 2 * r.d_batches_per_epoch
    assert r.d_batches_per_epoch == 2 * c.d_samples // c.d_batch_size
    adv = {p.name: p for p in r.phases(stages[2])}
    assert adv["G_pg"].repeats == 2 and adv["D"].repeats == 3 * per_set
    assert r.phases(stages[1])[0].repeats == per_set
    run_recipe(r, steps=stages[0].steps + stages[1].steps + 1)  # into the first adversarial round
    # one pretraining d-step + d_steps in the round: one fresh negative set each
    assert r.d_state["sets"] == 1 + 3 and r.d_state["used"] == per_set


def test_mle_pretraining_lowers_nll_oracle():
    r = make_recipe(SeqGAN, batch_size=16, pretrain_g_epochs=30, g_lr=0.02, eval__samples=400,
                    oracle__num_train=64, oracle__num_test=64, oracle__vocab_size=12,
                    oracle__seq_len=8)
    before = r.evaluate()
    run_recipe(r, steps=r.stages()[0].steps)
    after = r.evaluate()
    assert after["nll_oracle"] < before["nll_oracle"] - 0.1, (before, after)
    assert after["nll_test"] < before["nll_test"] - 0.1
    assert before["protocol"]["samples"] == 400


def test_rollout_policy_starts_at_the_pretrained_generator_and_follows_it(tmp_path):
    r = make_recipe(SeqGAN, rollout_update_rate=0.5)
    pre = sum(s.steps for s in r.stages()[:2])
    trainer = run_recipe(r, steps=pre + 1, run_dir=tmp_path / "run", log_every=1)
    assert trainer.status == "completed"
    lines = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert "G_pg/reward" in lines and "D/acc" in lines and "G_mle/nll" in lines
    g = r.models["G"]
    old = [p.clone() for p in r.rollout.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    r.after_step(r.stages()[2], pre + 2)
    for (name, b), o, t in zip(r.rollout.named_parameters(), old, g.parameters()):
        torch.testing.assert_close(b, t if name == "embedding" else 0.5 * o + 0.5 * t)
    r.after_step(r.stages()[0], 1)  # pretraining keeps the rollout policy equal to G
    assert all(torch.equal(a, b) for a, b in zip(r.rollout.parameters(), g.parameters()))


def test_bad_config_values_are_one_line_errors():
    for key, value, msg in [("rollout_update_rate", 0.0, "rollout_update_rate"),
                            ("num_rollouts", 0, "num_rollouts"), ("temperature", -1.0, "temperature"),
                            ("d_filters", (3, 3), "d_windows has 3 sizes")]:
        with pytest.raises(GanError, match=msg):
            make_recipe(SeqGAN, **{key: value})
    with pytest.raises(GanError, match="batch_size=64"):
        make_recipe(SeqGAN, batch_size=64)  # more than the 16 training sequences of the tiny preset


def test_samples_and_exports_are_token_lines(tmp_path):
    r = make_recipe(SeqGAN)
    lines = r.export_samples(5, tmp_path, seed=1, nice=True)
    assert len(lines) == 5 and all(len(line.split()) == r.max_len for line in lines)
    assert (tmp_path / "samples.txt").read_text().splitlines() == lines
    assert torch.equal(r.sample(3, seed=4), r.sample(3, seed=4))
    [path] = r.save_samples(tmp_path / "s", 7)
    assert path.name == "samples-00000007.txt" and len(path.read_text().splitlines()) == 64


CORPUS = [
    "the cat sat on the mat", "a dog ran in the park", "the bird sang a song",
    "a cat saw the dog", "the dog sat in the sun", "a bird flew over the park",
    "the sun is warm today", "a song for the cat", "the park is green", "a mat on the floor",
] * 4


def test_text_corpus_trains_and_reports_bleu(tmp_path):
    from gan_seqgan.text import make_text_dataset
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n")
    cfg = SeqGAN.Config()
    corpus_data = make_text_dataset(corpus, cfg)
    r = make_recipe(SeqGAN, data=corpus_data, eval__samples=40, eval__self_bleu_samples=20)
    G = r.models["G"]
    assert G.start_token == corpus_data.bos_id and G.eos_id == corpus_data.eos_id
    run_recipe(r, steps=4, run_dir=tmp_path / "run")
    res = r.evaluate()
    assert {"bleu-2", "bleu-5", "self-bleu-2", "nll_test"} <= set(res)
    assert 0 <= res["bleu-2"] <= 1 and res["protocol"]["bleu_signature"]
    lines = r.export_samples(6, tmp_path / "out")
    assert len(lines) == 6 and all(isinstance(s, str) and "<pad>" not in s for s in lines)
    assert (tmp_path / "run" / "text" / "tokenizer.json").is_file()
    # the reference pool is summarised once and reused: the same scores as a freshly built one
    from gan_seqgan.bleu import bleu_against_pool
    pool = r.reference_pool
    assert r.reference_pool is pool
    hyps = r.decode(r.sample(40))
    fresh = bleu_against_pool(hyps, corpus_data.test_text or corpus_data.train_text)
    assert pool.score(hyps)["bleu-3"] == pytest.approx(fresh["bleu-3"], abs=1e-12)


def test_mle_baseline_has_only_the_generator():
    r = make_recipe(MLEBaseline)
    assert set(r.models) == {"G"} and [s.name for s in r.stages()] == ["pretrain_g"]
    run_recipe(r)
    assert "nll_oracle" in r.evaluate()
