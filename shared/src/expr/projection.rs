//! Building a projected copy of an item from document paths.
//!
//! Nested paths keep their structure (`a.b` gives `{a: {b: ..}}`), two paths into the same
//! map merge, and list elements picked by index are compacted into a new list in index
//! order (`l[3], l[0]` gives `[l0, l3]`). Paths that do not exist in the item contribute
//! nothing. The recursion depth is bounded by the item's nesting (at most 32 levels),
//! because a path is only inserted after it was found in the item.

use std::collections::BTreeMap;

use super::eval::lookup;
use super::{Path, PathElem};
use crate::model::{AttributeValue, Item};

/// A partially built projection.
enum Node {
    Leaf(AttributeValue),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

impl Node {
    fn into_value(self) -> AttributeValue {
        match self {
            Node::Leaf(v) => v,
            Node::Map(m) => {
                AttributeValue::M(m.into_iter().map(|(k, n)| (k, n.into_value())).collect())
            }
            Node::List(l) => AttributeValue::L(l.into_values().map(Node::into_value).collect()),
        }
    }
}

/// Inserts `value` (found at `rest` below `node`) into the tree.
fn insert(node: &mut Node, rest: &[PathElem], value: &AttributeValue) {
    let Some((first, tail)) = rest.split_first() else {
        return;
    };
    let child = match (first, &mut *node) {
        (PathElem::Attr(name), Node::Map(m)) => m.entry(name.clone()),
        (PathElem::Index(i), Node::List(l)) => {
            let slot = l.entry(*i).or_insert_with(|| fresh(tail, value));
            insert(slot, tail, value);
            return;
        }
        // A leaf already covers this path (or the shapes disagree): keep what is there.
        _ => return,
    };
    let slot = child.or_insert_with(|| fresh(tail, value));
    insert(slot, tail, value);
}

/// The node to create for the remaining path `tail` ending in `value`.
fn fresh(tail: &[PathElem], value: &AttributeValue) -> Node {
    match tail.first() {
        None => Node::Leaf(value.clone()),
        Some(PathElem::Attr(_)) => Node::Map(BTreeMap::new()),
        Some(PathElem::Index(_)) => Node::List(BTreeMap::new()),
    }
}

/// The projection of `item` onto `paths`.
pub(crate) fn project<'p>(item: &Item, paths: impl IntoIterator<Item = &'p Path>) -> Item {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for path in paths {
        let Some(value) = lookup(item, path) else {
            continue;
        };
        let Some((PathElem::Attr(first), tail)) = path.split_first() else {
            continue;
        };
        let slot = root
            .entry(first.clone())
            .or_insert_with(|| fresh(tail, value));
        insert(slot, tail, value);
    }
    root.into_iter().map(|(k, n)| (k, n.into_value())).collect()
}
