"""Evaluation. `registry` names every metric (group, direction, order); `evaluate` scores a run's
generator (`evaluate_run`) and writes the numbers into its summary.json; `callback` does it during
training; `groups` computes each group of metrics from one set of samples.

Metrics come in groups that share work: "inception" (fid, kid) share pytorch-fid features,
"classifier" (classifier_fd, classes_covered, class_kl) share the cached small CNN, "modes"
(modes_covered, high_quality_pct, mode_kl, mode_kl_hq) share one set of 2D samples.
"""
