//! Stored profiles looked up by one of their texts (employee id, email, display name),
//! holding only positions: each text stays in its item, and the index reads it there when
//! it compares. Maps keyed by a copy of every text took about a sixth of a dry run against
//! 100,000 stored profiles.

use hashbrown::HashTable;
use std::borrow::Cow;
use std::hash::BuildHasher;

/// Positions of items (in a slice each method is given) by one of their texts.
pub(super) struct TextIndex<T> {
    positions: HashTable<u32>,
    /// Seeded per process, as the other lookup maps: a report cannot aim at collisions.
    hasher: foldhash::fast::RandomState,
    /// The text an item is filed under, in the form looked up by; an empty one is not filed.
    text_of: fn(&T) -> Cow<'_, str>,
    /// A later item filed under a text takes the earlier one's place (otherwise both stay).
    replace: bool,
}

impl<T> TextIndex<T> {
    pub fn new(text_of: fn(&T) -> Cow<'_, str>, replace: bool, capacity: usize) -> Self {
        Self {
            positions: HashTable::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
            text_of,
            replace,
        }
    }

    /// Files the item at `position` in `items`.
    pub fn file(&mut self, items: &[T], position: u32) {
        let text = (self.text_of)(&items[position as usize]);
        if text.is_empty() {
            return;
        }
        let (hasher, text_of) = (&self.hasher, self.text_of);
        let text_at = |p: u32| text_of(&items[p as usize]);
        let hash = hasher.hash_one(&*text);
        if self.replace {
            if let Some(filed) = self.positions.find_mut(hash, |&p| text_at(p) == text) {
                *filed = position;
                return;
            }
        }
        self.positions
            .insert_unique(hash, position, |&p| hasher.hash_one(&*text_at(p)));
    }

    /// The positions filed under `text`, lowest first (the order items are filed in).
    pub fn find(&self, items: &[T], text: &str) -> Vec<u32> {
        let mut found: Vec<u32> = self
            .positions
            .iter_hash(self.hasher.hash_one(text))
            .copied()
            .filter(|&p| (self.text_of)(&items[p as usize]) == text)
            .collect();
        found.sort_unstable();
        found
    }

    /// The position filed under `text`, in an index that replaces.
    pub fn find_one(&self, items: &[T], text: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(text);
        self.positions
            .find(hash, |&p| (self.text_of)(&items[p as usize]) == text)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn itself<'a>(text: &'a &str) -> Cow<'a, str> {
        Cow::Borrowed(*text)
    }

    #[test]
    fn positions_are_found_by_the_text_they_hold() {
        let texts = ["b", "a", "b", "c", "b", ""];
        let mut kept = TextIndex::new(itself, false, 0);
        let mut replaced = TextIndex::new(itself, true, 0);
        for p in 0..6 {
            kept.file(&texts, p);
            replaced.file(&texts, p);
        }
        assert_eq!(kept.find(&texts, "b"), [0, 2, 4]);
        assert_eq!(replaced.find(&texts, "b"), [4], "the later one wins");
        assert_eq!(replaced.find_one(&texts, "a"), Some(1));
        assert!(kept.find(&texts, "z").is_empty());
        assert_eq!(
            replaced.find_one(&texts, ""),
            None,
            "an empty text is not filed"
        );
    }

    /// Growing the table reads the texts again through `text_of`.
    #[test]
    fn every_position_is_found_after_the_table_grew() {
        let owned: Vec<String> = (0..10_000).map(|n| format!("text {n}")).collect();
        let texts: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut index = TextIndex::new(itself, true, 0);
        for p in 0..10_000 {
            index.file(&texts, p);
        }
        for (p, text) in (0..).zip(&texts) {
            assert_eq!(index.find_one(&texts, text), Some(p), "{text}");
        }
    }
}
