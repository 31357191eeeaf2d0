"""Per-account feature contributions of a LightGBM model: exact TreeSHAP or decision paths.

Both methods split an account's raw score (log-odds for churn, fen for value) into one
additive share per feature plus a bias; the shares sum to the raw score exactly.

- `shap`: `Booster.predict(pred_contrib=True)`, LightGBM's TreeSHAP. Exact Shapley values,
  but its cost grows with leaves x depth^2 per tree: about 0.4-0.7 ms per account and
  model on the bench models, so 100 accounts with churn and value reasons cost ~100 ms.
- `path` (the serving default): each split on an account's decision path credits its
  feature with the change in the node's expected score (the Saabas / treeinterpreter
  attribution; XGBoost offers it as `approx_contribs`). The per-leaf sums are tabulated
  once per model version, so scoring is one `pred_leaf` call and one sparse product:
  50-70x cheaper than TreeSHAP. On the 200 riskiest holdout accounts of the test model
  the top reason is TreeSHAP's for 99 % of them and the top three overlap 84 %; over the
  whole base (mostly tiny, close contributions) the top reason agrees for 7 to 9 in 10.
  Set `reason_method = "shap"` where exact Shapley values matter more than cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

PATH = "path"
SHAP = "shap"
METHODS = (PATH, SHAP)


@dataclass(frozen=True)
class PathTable:
    """Contribution of every leaf of every tree: rows = leaves (tree by tree), columns =
    features plus the bias last."""

    table: np.ndarray
    offsets: np.ndarray
    num_trees: int


def _leaf_rows(structure: dict[str, Any], num_leaves: int, width: int) -> np.ndarray:
    """One tree's leaves x (features + bias): the path contributions that reach each leaf."""
    rows = np.zeros((num_leaves, width))
    bias = width - 1
    if "split_feature" not in structure:
        rows[int(structure.get("leaf_index", 0)), bias] = float(structure["leaf_value"])
        return rows
    start = np.zeros(width)
    start[bias] = float(structure["internal_value"])
    stack = [(structure, start)]
    while stack:
        node, acc = stack.pop()
        here = float(node["internal_value"])
        feature = int(node["split_feature"])
        for side in ("left_child", "right_child"):
            child = node[side]
            is_leaf = "split_feature" not in child
            value = float(child["leaf_value"] if is_leaf else child["internal_value"])
            path = acc.copy()
            path[feature] += value - here
            if is_leaf:
                rows[int(child.get("leaf_index", 0))] = path
            else:
                stack.append((child, path))
    return rows


def path_table(booster: Any, num_iteration: int) -> PathTable:
    """Tabulate the decision-path contributions of a booster's first `num_iteration` rounds."""
    dumped = booster.dump_model(num_iteration=num_iteration)
    width = len(dumped["feature_names"]) + 1
    blocks, offsets, offset = [], [], 0
    for tree in dumped["tree_info"]:
        n = int(tree["num_leaves"])
        blocks.append(_leaf_rows(tree["tree_structure"], n, width))
        offsets.append(offset)
        offset += n
    table = np.vstack(blocks) if blocks else np.zeros((0, width))
    return PathTable(table, np.asarray(offsets, dtype=np.int64), len(blocks))


def path_contributions(booster: Any, X: np.ndarray, num_iteration: int, paths: PathTable) -> np.ndarray:
    """Decision-path contributions (rows x features + bias) of an encoded matrix."""
    n = len(X)
    if n == 0 or paths.num_trees == 0:
        return np.zeros((n, paths.table.shape[1]))
    leaves = booster.predict(X, pred_leaf=True, num_iteration=num_iteration, num_threads=1)
    leaves = np.asarray(leaves, dtype=np.int64).reshape(n, -1)
    trees = leaves.shape[1]
    # A 0/1 matrix (rows x all leaves) picking each row's leaf in every tree, times the
    # table: the sum over trees in one sparse product, without an n x trees x features temp.
    columns = (leaves + paths.offsets[None, :trees]).ravel()
    picks = sparse.csr_matrix(
        (np.ones(columns.size), columns, np.arange(0, columns.size + 1, trees)), shape=(n, paths.table.shape[0])
    )
    return np.asarray(picks @ paths.table)


def shap_contributions(booster: Any, X: np.ndarray, num_iteration: int) -> np.ndarray:
    """LightGBM's TreeSHAP contributions (rows x features + bias)."""
    out = booster.predict(X, pred_contrib=True, num_iteration=num_iteration, num_threads=1)
    return np.asarray(out, dtype=np.float64)
