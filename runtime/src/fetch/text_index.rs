//! Stored profiles looked up by one of their texts (employee id, email, display name),
//! holding only positions: each text stays in its profile, and the index reads it there
//! (`text_at`, in the form looked up by) when it compares. Maps keyed by a copy of every
//! text took about a sixth of a dry run against 100,000 stored profiles.

use hashbrown::HashTable;
use std::borrow::Cow;
use std::hash::BuildHasher;

/// Positions by text.
#[derive(Default)]
pub(super) struct TextIndex {
    positions: HashTable<u32>,
    /// Seeded per process, as the other lookup maps: a report cannot aim at collisions.
    hasher: foldhash::fast::RandomState,
}

impl TextIndex {
    pub fn reserve<'t>(&mut self, additional: usize, text_at: impl Fn(u32) -> Cow<'t, str>) {
        let hasher = &self.hasher;
        self.positions
            .reserve(additional, |&p| hasher.hash_one(&*text_at(p)));
    }

    /// Files `position` under `text`. With `replace`, a position already filed under the
    /// same text gives way (the later profile wins); otherwise both stay.
    pub fn insert<'t>(
        &mut self,
        text: &str,
        position: u32,
        text_at: impl Fn(u32) -> Cow<'t, str>,
        replace: bool,
    ) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(text);
        if replace {
            if let Some(filed) = self.positions.find_mut(hash, |&p| text_at(p) == text) {
                *filed = position;
                return;
            }
        }
        self.positions
            .insert_unique(hash, position, |&p| hasher.hash_one(&*text_at(p)));
    }

    /// The positions filed under `text`, lowest first (the order profiles are added in).
    pub fn find<'t>(&self, text: &str, text_at: impl Fn(u32) -> Cow<'t, str>) -> Vec<u32> {
        let mut found: Vec<u32> = self
            .positions
            .iter_hash(self.hasher.hash_one(text))
            .copied()
            .filter(|&p| text_at(p) == text)
            .collect();
        found.sort_unstable();
        found
    }

    /// The position filed under `text`, in an index that replaces.
    pub fn find_one<'t>(&self, text: &str, text_at: impl Fn(u32) -> Cow<'t, str>) -> Option<u32> {
        let hash = self.hasher.hash_one(text);
        self.positions.find(hash, |&p| text_at(p) == text).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_found_by_the_text_they_hold() {
        let texts = ["b", "a", "b", "c", "b"];
        let text_at = |p: u32| Cow::Borrowed(texts[p as usize]);
        let (mut kept, mut replaced) = (TextIndex::default(), TextIndex::default());
        for (p, text) in (0..).zip(texts) {
            kept.insert(text, p, text_at, false);
            replaced.insert(text, p, text_at, true);
        }
        assert_eq!(kept.find("b", text_at), [0, 2, 4]);
        assert_eq!(replaced.find("b", text_at), [4], "the later one wins");
        assert_eq!(replaced.find_one("a", text_at), Some(1));
        assert!(kept.find("z", text_at).is_empty());
        assert_eq!(replaced.find_one("", text_at), None);
    }

    /// Growing the table reads the texts again through `text_at`.
    #[test]
    fn every_position_is_found_after_the_table_grew() {
        let texts: Vec<String> = (0..10_000).map(|n| format!("text {n}")).collect();
        let text_at = |p: u32| Cow::Borrowed(texts[p as usize].as_str());
        let mut index = TextIndex::default();
        for (p, text) in (0..).zip(&texts) {
            index.insert(text, p, text_at, true);
        }
        for (p, text) in (0..).zip(&texts) {
            assert_eq!(index.find_one(text, text_at), Some(p), "{text}");
        }
    }
}
