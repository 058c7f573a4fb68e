"""Derived bucket data and bucket mutations, with the semantics of Ceph's `builder.c`.

Everything here works on 16.16 fixed-point integer weights. `derive` recomputes what
`crush_make_bucket` computes when a bucket is created; the mutation helpers mirror
`crush_bucket_add_item`, `crush_bucket_remove_item`, `crush_bucket_adjust_item_weight`,
`crush_reweight_bucket` and `CrushWrapper::adjust_item_weight`, quirks included (a tree
bucket keeps a removed item's slot unless it is the last one; a uniform bucket has one
weight for all its items), because placement reads this data and must match Ceph.
"""

from __future__ import annotations

from radospy.crush.map import Bucket, BucketAlg, CrushMap

U32_MAX = 0xFFFFFFFF


class WeightOverflowError(ValueError):
    """A bucket weight would not fit in 32 bits (Ceph answers -ERANGE)."""


def _checked_add(a: int, b: int) -> int:
    total = a + b
    if total > U32_MAX:
        raise WeightOverflowError(f"weight {a} + {b} overflows 32 bits")
    return total


# -- tree geometry ------------------------------------------------------------------------


def tree_node(index: int) -> int:
    """The node number of the `index`-th leaf of a tree bucket (leaves are odd)."""
    return ((index + 1) << 1) - 1


def tree_depth(size: int) -> int:
    """Depth of the implicit binary tree holding `size` leaves (1 for a single leaf)."""
    depth = 1
    t = size - 1
    while t:
        t >>= 1
        depth += 1
    return depth


def _node_height(node: int) -> int:
    height = 0
    while node & 1 == 0:
        height += 1
        node >>= 1
    return height


def tree_parent(node: int) -> int:
    """The parent node of `node` in the tree numbering."""
    height = _node_height(node)
    if node & (1 << (height + 1)):
        return node - (1 << height)
    return node + (1 << height)


def _tree_node_weights(weights: list[int]) -> list[int]:
    size = len(weights)
    depth = tree_depth(size)
    nodes = [0] * (1 << depth)
    for i, weight in enumerate(weights):
        node = tree_node(i)
        nodes[node] = weight
        for _ in range(1, depth):
            node = tree_parent(node)
            nodes[node] = _checked_add(nodes[node], weight)
    return nodes


# -- straw lengths ------------------------------------------------------------------------


def calc_straws(weights: list[int], straw_calc_version: int) -> list[int]:
    """Straw lengths of a straw bucket (`crush_calc_straw`), in the bucket's item order.

    Version 0 is Ceph's original, subtly wrong computation (it skips duplicate weights
    and zero weights when counting the items left); version >= 1 is the fixed one. Both
    use C double arithmetic, which Python floats reproduce exactly.
    """
    size = len(weights)
    order = _ascending_order(weights)
    straws = [0] * size
    numleft = size
    straw = 1.0
    wbelow = 0.0
    lastw = 0.0
    i = 0
    while i < size:
        current = weights[order[i]]
        if current == 0:
            straws[order[i]] = 0
            i += 1
            if straw_calc_version >= 1:
                numleft -= 1
            continue
        straws[order[i]] = int(straw * 0x10000) & U32_MAX
        i += 1
        if i == size:
            break
        prev, nxt = weights[order[i - 1]], weights[order[i]]
        if straw_calc_version == 0:
            if nxt == prev:
                continue
            wbelow += (float(prev) - lastw) * numleft
            j = i
            while j < size and weights[order[j]] == nxt:
                numleft -= 1
                j += 1
        else:
            wbelow += (float(prev) - lastw) * numleft
            numleft -= 1
        # C computes this product in unsigned 32-bit arithmetic before converting.
        wnext = float((numleft * ((nxt - prev) & U32_MAX)) & U32_MAX)
        pbelow = wbelow / (wbelow + wnext)
        straw *= (1.0 / pbelow) ** (1.0 / numleft)
        lastw = float(prev)
    return straws


def _ascending_order(weights: list[int]) -> list[int]:
    """Indices sorted by weight the way builder.c's insertion sort orders them.

    An item is inserted before the first already-placed item that is strictly heavier,
    so equal weights keep their original order: this is a stable ascending sort.
    """
    return sorted(range(len(weights)), key=lambda i: weights[i])


# -- derive -------------------------------------------------------------------------------


def derive(bucket: Bucket, straw_calc_version: int) -> None:
    """Fill `bucket.weight` and the alg-specific fields from its items and item weights.

    Uniform buckets take their single item weight from the first item (as
    `crush_make_bucket` does) and every item is given that weight.
    """
    weights = bucket.item_weights
    if len(weights) != len(bucket.items):
        raise ValueError(f"bucket {bucket.id}: {len(bucket.items)} items, {len(weights)} weights")
    bucket.straws = []
    bucket.node_weights = []
    bucket.sum_weights = []
    alg = bucket.alg
    if alg == BucketAlg.UNIFORM:
        item_weight = weights[0] if weights else 0
        bucket.item_weights = [item_weight] * len(weights)
        bucket.weight = item_weight * len(weights)
        if bucket.weight > U32_MAX:
            raise WeightOverflowError(f"bucket {bucket.id}: uniform weight overflows")
        return
    total = 0
    for weight in weights:
        total = _checked_add(total, weight)
    bucket.weight = total
    if alg == BucketAlg.LIST:
        running = 0
        for weight in weights:
            running += weight
            bucket.sum_weights.append(running)
    elif alg == BucketAlg.TREE:
        bucket.node_weights = _tree_node_weights(weights)
    elif alg == BucketAlg.STRAW:
        bucket.straws = calc_straws(weights, straw_calc_version)


# -- mutations of one bucket ----------------------------------------------------------------


def bucket_add_item(bucket: Bucket, item: int, weight: int, straw_calc_version: int) -> None:
    """Append `item` with `weight` (`crush_bucket_add_item`).

    A uniform bucket ignores `weight` for its per-item weight (all items share the
    existing one) but, as in Ceph, adds it to the bucket's total weight.
    """
    if bucket.alg == BucketAlg.UNIFORM:
        shared = bucket.item_weights[0] if bucket.item_weights else weight
        bucket.weight = _checked_add(bucket.weight, weight)
        bucket.items.append(item)
        bucket.item_weights.append(shared)
        return
    new_total = _checked_add(bucket.weight, weight)
    bucket.items.append(item)
    bucket.item_weights.append(weight)
    bucket.weight = new_total
    if bucket.alg == BucketAlg.LIST:
        previous = bucket.sum_weights[-1] if bucket.sum_weights else 0
        bucket.sum_weights.append(_checked_add(previous, weight))
    elif bucket.alg == BucketAlg.TREE:
        _tree_add_leaf(bucket, weight)
    elif bucket.alg == BucketAlg.STRAW:
        bucket.straws = calc_straws(bucket.item_weights, straw_calc_version)


def _tree_add_leaf(bucket: Bucket, weight: int) -> None:
    size = len(bucket.items)
    depth = tree_depth(size)
    nodes = bucket.node_weights + [0] * ((1 << depth) - len(bucket.node_weights))
    node = tree_node(size - 1)
    nodes[node] = weight
    root = len(nodes) // 2
    if depth >= 2 and node - 1 == root:
        # The tree just grew a level: the new root starts as the old (left) subtree.
        nodes[root] = nodes[root // 2]
    for _ in range(1, depth):
        node = tree_parent(node)
        nodes[node] = _checked_add(nodes[node], weight)
    bucket.node_weights = nodes


def bucket_remove_item(bucket: Bucket, item: int, straw_calc_version: int) -> None:
    """Remove `item` (`crush_bucket_remove_item`); KeyError if it is not in the bucket.

    A tree bucket only zeroes the item's leaf and drops trailing zero-weight leaves, so
    the ids of removed items that are not last stay in `items` with weight 0.
    """
    try:
        index = bucket.items.index(item)
    except ValueError:
        raise KeyError(item) from None
    if bucket.alg == BucketAlg.TREE:
        _tree_remove_leaf(bucket, index)
        return
    removed_weight = bucket.item_weights[index]
    del bucket.items[index]
    del bucket.item_weights[index]
    bucket.weight = bucket.weight - removed_weight if removed_weight < bucket.weight else 0
    if bucket.alg == BucketAlg.LIST:
        del bucket.sum_weights[index]
        for j in range(index, len(bucket.sum_weights)):
            bucket.sum_weights[j] -= removed_weight
    elif bucket.alg == BucketAlg.STRAW:
        bucket.straws = calc_straws(bucket.item_weights, straw_calc_version)


def _tree_remove_leaf(bucket: Bucket, index: int) -> None:
    size = len(bucket.items)
    depth = tree_depth(size)
    nodes = bucket.node_weights
    node = tree_node(index)
    weight = nodes[node]
    nodes[node] = 0
    bucket.item_weights[index] = 0
    for _ in range(1, depth):
        node = tree_parent(node)
        nodes[node] -= weight
    bucket.weight = bucket.weight - weight if weight < bucket.weight else 0
    new_size = size
    while new_size > 0 and nodes[tree_node(new_size - 1)] == 0:
        new_size -= 1
    if new_size != size:
        del bucket.items[new_size:]
        del bucket.item_weights[new_size:]
        if tree_depth(new_size) != depth:
            del nodes[1 << tree_depth(new_size) :]


def bucket_adjust_item_weight(
    bucket: Bucket, item: int, weight: int, straw_calc_version: int
) -> int:
    """Set `item`'s weight in `bucket`; returns the change of the bucket's weight.

    Mirrors `crush_bucket_adjust_item_weight`: an item not in the bucket changes nothing
    (0), and a uniform bucket changes the one weight shared by all of its items.
    """
    if bucket.alg == BucketAlg.UNIFORM:
        size = len(bucket.items)
        old = bucket.item_weights[0] if bucket.item_weights else 0
        bucket.item_weights = [weight] * size
        bucket.weight = weight * size
        return (weight - old) * size
    if item not in bucket.items:
        return 0
    index = bucket.items.index(item)
    diff = weight - bucket.item_weights[index]
    bucket.item_weights[index] = weight
    bucket.weight += diff
    if bucket.alg == BucketAlg.LIST:
        for j in range(index, len(bucket.sum_weights)):
            bucket.sum_weights[j] += diff
    elif bucket.alg == BucketAlg.TREE:
        node = tree_node(index)
        bucket.node_weights[node] = weight
        for _ in range(1, tree_depth(len(bucket.items))):
            node = tree_parent(node)
            bucket.node_weights[node] += diff
    elif bucket.alg == BucketAlg.STRAW:
        bucket.straws = calc_straws(bucket.item_weights, straw_calc_version)
    return diff


# -- whole-map recomputation ----------------------------------------------------------------


def reweight_bucket(cmap: CrushMap, bucket_id: int) -> None:
    """Recompute a subtree's weights bottom-up from its devices (`crush_reweight_bucket`).

    Every child bucket is reweighted first and its new weight becomes the item weight
    its parent holds for it. A uniform bucket whose bucket children outnumber its
    devices takes the children's average as its single item weight.
    """
    bucket = cmap.buckets[bucket_id]
    scv = cmap.tunables.straw_calc_version
    if bucket.alg == BucketAlg.UNIFORM:
        total = children = leaves = 0
        for item in bucket.items:
            if item < 0:
                reweight_bucket(cmap, item)
                total = _checked_add(total, cmap.buckets[item].weight)
                children += 1
            else:
                leaves += 1
        item_weight = bucket.item_weights[0] if bucket.item_weights else 0
        if children > leaves:
            item_weight = total // children
        bucket.item_weights = [item_weight] * len(bucket.items)
        bucket.weight = item_weight * len(bucket.items)
        return
    for index, item in enumerate(bucket.items):
        if item < 0:
            reweight_bucket(cmap, item)
            bucket.item_weights[index] = cmap.buckets[item].weight
            if bucket.alg == BucketAlg.TREE:
                bucket.node_weights[tree_node(index)] = bucket.item_weights[index]
    total = 0
    for weight in bucket.item_weights:
        total = _checked_add(total, weight)
    bucket.weight = total
    # Ceph's reweight refreshes only the item (leaf) weights and the total: a list
    # bucket keeps its old sum_weights and a tree its old interior nodes, and both
    # drive placement, so they stay as they were here too.
    if bucket.alg == BucketAlg.STRAW:
        bucket.straws = calc_straws(bucket.item_weights, scv)


def reweight_all(cmap: CrushMap) -> None:
    """Recompute every tree's weights from the roots down (`CrushWrapper::reweight`)."""
    children = {item for bucket in cmap.buckets.values() for item in bucket.items if item < 0}
    for bucket_id in sorted(cmap.buckets, reverse=True):
        if bucket_id not in children:
            reweight_bucket(cmap, bucket_id)


def adjust_item_weight(cmap: CrushMap, item: int, weight: int) -> int:
    """Set `item`'s weight in every bucket holding it and carry the change up the tree.

    Mirrors `CrushWrapper::adjust_item_weight`: each parent bucket's new total becomes
    its weight in its own parents, recursively. Returns how many buckets changed.
    """
    scv = cmap.tunables.straw_calc_version
    changed = 0
    for bucket_id in sorted(cmap.buckets, reverse=True):
        bucket = cmap.buckets[bucket_id]
        if item not in bucket.items:
            continue
        diff = bucket_adjust_item_weight(bucket, item, weight, scv)
        changed += 1
        if diff:
            changed += adjust_item_weight(cmap, bucket_id, bucket.weight)
    return changed
