/**
 * An order-statistic treap: a binary search tree kept balanced by random priorities, each node
 * counting its subtree, so insert, remove, "how many keys sort before k" and "the i-th key" are
 * O(log n) expected.
 *
 * Hand-written on purpose: of the npm sorted collections, bintrees and sorted-btree keep no
 * subtree counts (no rank at all), and js-sdsl's OrderedSet with `enableIndex` answers key →
 * position in O(log n) but position → key (`getElementByPos`) by an in-order walk, O(n): a page
 * or around-me deep in a 1M board would pay that per request. A treap is ~100 lines, and
 * split/merge keep every operation one short recursion.
 */
export class OrderStatisticTree<K> {
  private root: TreeNode<K> | null = null;

  constructor(private readonly compare: (a: K, b: K) => number) {}

  /**
   * Replaces the content with `sorted` (ascending, unique) in O(n): the Cartesian tree of the
   * keys and fresh random priorities, built along its right spine: the same shape random inserts
   * would give, without n descents (a rebuild of a million records).
   */
  load(sorted: readonly K[]): void {
    const spine: Array<TreeNode<K>> = [];
    for (const key of sorted) {
      const node = new TreeNode(key);
      let last: TreeNode<K> | null = null;
      while (spine.length && spine[spine.length - 1].priority < node.priority) {
        last = spine.pop()!;
        last.size = 1 + sizeOf(last.left) + sizeOf(last.right); // its subtrees are final now
      }
      node.left = last;
      if (spine.length) spine[spine.length - 1].right = node;
      spine.push(node);
    }
    for (let i = spine.length - 1; i >= 0; i--) {
      spine[i].size = 1 + sizeOf(spine[i].left) + sizeOf(spine[i].right);
    }
    this.root = spine[0] ?? null;
  }

  get size(): number {
    return sizeOf(this.root);
  }

  /** Adds `key` (the caller keeps keys unique: a user's old key is removed first). */
  insert(key: K): void {
    const [below, rest] = this.split(this.root, key);
    this.root = merge(merge(below, new TreeNode(key)), rest);
  }

  /** Removes the key comparing equal to `key`; false when there is none. */
  remove(key: K): boolean {
    let removed = false;
    const walk = (node: TreeNode<K> | null): TreeNode<K> | null => {
      if (!node) return null;
      const c = this.compare(key, node.key);
      if (c === 0) {
        removed = true;
        return merge(node.left, node.right);
      }
      if (c < 0) node.left = walk(node.left);
      else node.right = walk(node.right);
      node.size = 1 + sizeOf(node.left) + sizeOf(node.right);
      return node;
    };
    this.root = walk(this.root);
    return removed;
  }

  /** How many keys sort before `key` (and at it too, with `inclusive`): a 0-based position. */
  countBefore(key: K, inclusive = false): number {
    let count = 0;
    for (let node = this.root; node;) {
      const c = this.compare(key, node.key);
      if (c < 0 || (c === 0 && !inclusive)) node = node.left;
      else {
        count += sizeOf(node.left) + 1;
        if (c === 0) break;
        node = node.right;
      }
    }
    return count;
  }

  /** Up to `count` keys in order from the 0-based position `from`. */
  slice(from: number, count: number): K[] {
    const out: K[] = [];
    const walk = (node: TreeNode<K> | null, skip: number) => {
      if (!node || out.length >= count) return;
      const left = sizeOf(node.left);
      if (skip < left) walk(node.left, skip);
      if (out.length >= count) return;
      if (skip <= left) out.push(node.key);
      walk(node.right, Math.max(0, skip - left - 1));
    };
    if (from >= 0 && count > 0) walk(this.root, from);
    return out;
  }

  /** [keys < key, keys >= key]; the nodes are reused. */
  private split(node: TreeNode<K> | null, key: K): [TreeNode<K> | null, TreeNode<K> | null] {
    if (!node) return [null, null];
    if (this.compare(node.key, key) < 0) {
      const [l, r] = this.split(node.right, key);
      node.right = l;
      node.size = 1 + sizeOf(node.left) + sizeOf(l);
      return [node, r];
    }
    const [l, r] = this.split(node.left, key);
    node.left = r;
    node.size = 1 + sizeOf(r) + sizeOf(node.right);
    return [l, node];
  }
}

class TreeNode<K> {
  readonly priority = Math.random();
  size = 1;
  left: TreeNode<K> | null = null;
  right: TreeNode<K> | null = null;
  constructor(readonly key: K) {}
}

function sizeOf(node: TreeNode<unknown> | null): number {
  return node ? node.size : 0;
}

/** Joins two treaps where every key of `a` sorts before every key of `b`. */
function merge<K>(a: TreeNode<K> | null, b: TreeNode<K> | null): TreeNode<K> | null {
  if (!a) return b;
  if (!b) return a;
  if (a.priority > b.priority) {
    a.right = merge(a.right, b);
    a.size = 1 + sizeOf(a.left) + sizeOf(a.right);
    return a;
  }
  b.left = merge(a, b.left);
  b.size = 1 + sizeOf(b.left) + sizeOf(b.right);
  return b;
}
