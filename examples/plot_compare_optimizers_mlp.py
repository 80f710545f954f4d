"""
=====================================
Which optimizer for a small network?
=====================================

Races the five optimizers on a multi-layer perceptron with
:func:`~sk_gradopt.compare_optimizers`: each learning rate is tuned on a
validation part of the data (the same grid and the same epoch budget for
every optimizer), then each optimizer runs three fits with different seeds
(initial weights and batches). The result holds, per optimizer, the training
and validation loss of every epoch, the validation score of every seed, the
warm time of an epoch, a ranking with ties and the epoch where the network
starts to overfit; :class:`~sk_gradopt.OptimizerComparisonDisplay` draws the
curves, the seeds' spread as a band.

``sk-gradopt compare --hidden 32`` runs the same race from the command line.
"""

# %%
# The data: two interleaving half circles with noisy points, and a network of
# one hidden layer of 32 units behind a ``StandardScaler``. The race varies
# the last step's optimizer; the scaler is fitted on the training part only.
from sklearn.datasets import make_moons
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_gradopt import GradientMLPClassifier, OptimizerComparisonDisplay, compare_optimizers

X, y = make_moons(n_samples=300, noise=0.3, random_state=0)
model = make_pipeline(
    StandardScaler(), GradientMLPClassifier(hidden_layer_sizes=(32,), max_iter=100)
)

# %%
# The race: 12 fits per optimizer to tune its rate, then 3 seeds each.
race = compare_optimizers(model, X, y, n_seeds=3, random_state=0)

print(f"{'optimizer':<9} {'rate':>8} {'val accuracy':>15} {'epochs':>7} {'ms/epoch':>9}"
      "  overfits from")
for name in race.optimizers_:
    scores = race.validation_score_[name]
    overfits = race.overfitting_epoch_[name]
    print(f"{name:<9} {race.learning_rates_[name]:>8.3g} "
          f"{scores.mean():>8.3f} ± {scores.std(ddof=1):.3f} "
          f"{int(race.n_iter_[name].max()):>7d} {1e3 * race.epoch_time_[name]:>9.3f}"
          f"  {'-' if overfits is None else f'epoch {overfits}'}")

# %%
# The ranking: by mean validation accuracy, with the optimizers whose means
# differ by no more than the spread over seeds marked as tied.
for rank in race.ranking_:
    tied = f" (tied with {', '.join(rank.tied_with)})" if rank.tied_with else ""
    print(f"{rank.name}: {rank.score_mean:.3f}{tied}")

# %%
# The curves: the training objective and the validation loss of every epoch,
# the mean over seeds as a line, their range as a band, the tuned rates in
# the legend. A network has no known optimum, so there is no reference line
# (the linear models get one: the exact minimiser from scikit-learn's own
# solvers).
display = OptimizerComparisonDisplay.from_comparison(race)
display.figure_.suptitle("A 32-unit network on noisy moons: five optimizers, 3 seeds each")

# %%
# Reading it: the validation curves, not the training ones, decide, and the
# race says what to change before it says which optimizer wins. A fit that
# ran the whole budget with a validation loss still falling needs more
# epochs; one whose validation loss turns up (a cross marks the epoch from
# which it rises while the training loss falls) needs fewer, or a smaller
# network. The tuned rates differ by orders of magnitude between the
# optimizers: a race at one shared rate would say more about that rate than
# about the optimizers.
import numpy as np

for name in race.optimizers_:
    val = np.nanmean(race.validation_loss_[name], axis=0)
    still_falling = val[-10:].mean() < val[-20:-10].mean()
    ran_all = bool((race.n_iter_[name] == race.max_iter_).all())
    overfits = race.overfitting_epoch_[name]
    if overfits is not None:
        verdict = f"overfits from epoch {overfits}: fewer epochs, or a smaller network"
    elif ran_all and still_falling:
        verdict = "the validation loss still falls at the last epoch: more epochs"
    else:
        verdict = "done: its validation loss has levelled off"
    print(f"{name:<9} {verdict}")
