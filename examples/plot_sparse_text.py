"""
=================================================
Text classification on sparse TF-IDF features
=================================================

Text pipelines make sparse matrices: ``TfidfVectorizer`` turns each
document into a row with one stored value per distinct word. The estimators
take ``scipy.sparse`` input as it is (CSR, CSC or COO) and never make it
dense: the model's products ``X @ w`` and ``X.T @ g`` are sparse products,
and the linear models run a compiled epoch over the CSR rows.

The corpus is generated here (no download): short "reviews" drawn from a
positive and a negative vocabulary, with words common to both.
"""

# %%
# A small generated corpus
# ------------------------
import numpy as np

rng = np.random.default_rng(0)
positive = ["great", "excellent", "love", "wonderful", "best", "enjoyed", "perfect",
            "recommend", "fun", "beautiful"]
negative = ["bad", "boring", "awful", "worst", "hate", "waste", "poor", "dull",
            "broken", "disappointing"]
common = ["movie", "film", "story", "actor", "plot", "scene", "music", "time", "really",
          "quite", "the", "a", "and", "was", "it", "this", "very", "just", "some"]


def review(label):
    """A review of 8 to 20 words: mostly common words, some of its label's words."""
    words = rng.choice(common, size=rng.integers(6, 15)).tolist()
    own, other = (positive, negative) if label else (negative, positive)
    words += rng.choice(own, size=rng.integers(1, 4)).tolist()
    if rng.random() < 0.3:  # mixed feelings
        words += rng.choice(other, size=1).tolist()
    rng.shuffle(words)
    return " ".join(words)


labels = rng.integers(0, 2, size=2000)
documents = [review(label) for label in labels]
print(documents[0], "->", labels[0])

# %%
# A pipeline on sparse features
# -----------------------------
# ``TfidfVectorizer`` hands the classifier a CSR matrix; the classifier
# trains on it directly. Adam with mini-batches of 32 here.
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sk_gradopt import GradientClassifier

docs_train, docs_test, y_train, y_test = train_test_split(
    documents, labels, test_size=0.25, random_state=0)
model = make_pipeline(
    TfidfVectorizer(),
    GradientClassifier(optimizer="adam", batch_size=32, learning_rate=0.01, max_iter=20,
                       tol=None, random_state=0),
)
model.fit(docs_train, y_train)
X_train = model[0].transform(docs_train)
print(f"X: {type(X_train).__name__}, {X_train.shape}, {X_train.nnz} stored values "
      f"({X_train.nnz / np.prod(X_train.shape):.1%} of the entries)")
print(f"test accuracy: {model.score(docs_test, y_test):.3f}")

# %%
# The same numbers as on dense input
# ----------------------------------
# Sparse input is a faster way to compute the same fit: on the same data
# made dense, the coefficients agree to rounding.
clf = model[-1]
dense = GradientClassifier(**clf.get_params()).fit(X_train.toarray(), y_train)
print(f"largest difference of coef_: {np.max(np.abs(clf.coef_ - dense.coef_)):.1e}")

# %%
# The words the model weighs most
# -------------------------------
import matplotlib.pyplot as plt

vocabulary = model[0].get_feature_names_out()
coef = clf.coef_.ravel()
top = np.argsort(coef)
chosen = np.concatenate([top[:8], top[-8:]])
fig, ax = plt.subplots(figsize=(6, 4))
ax.barh(vocabulary[chosen], coef[chosen],
        color=["tab:red"] * 8 + ["tab:blue"] * 8)
ax.set_xlabel("coefficient")
ax.set_title("Most negative and most positive words")
fig.tight_layout()
plt.show()
