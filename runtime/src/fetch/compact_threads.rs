//! Compacting the stored profiles on several threads. A fetch reads every stored profile's
//! JSON before it compares the report, and parsing 100,000 documents on one thread was
//! a second of a dry run. The store's rows are read on the calling thread and handed out
//! in batches, in turn, to workers; the profiles are then put back in the order they were
//! read.

use super::stored::{compact_json, ComparedFields};
use super::StoredProfile;
use anyhow::{anyhow, Result};
use std::sync::mpsc::{sync_channel, SyncSender};

/// Profiles a worker is handed at once: enough that handing them over costs nothing next
/// to parsing them.
const PROFILES_PER_BATCH: usize = 256;

/// Batches that may wait for each worker (a few hundred KB each).
const BATCHES_AHEAD: usize = 2;

/// More workers than this only wait on the thread reading the store.
const MAX_WORKERS: usize = 4;

/// Stored profiles read in turn: each one's key and JSON text.
pub type EachProfile<'e> = dyn FnOnce(&mut dyn FnMut(&str, &str) -> Result<()>) -> Result<()> + 'e;

struct Batch {
    /// The position of its first profile.
    first: usize,
    profiles: Vec<(Box<str>, Box<str>)>,
}

impl Batch {
    fn starting_at(first: usize) -> Self {
        Self {
            first,
            profiles: Vec::with_capacity(PROFILES_PER_BATCH),
        }
    }
}

/// Compacts every profile `each` reads, comparing the fields `compared`; they come back in
/// the order read, each one's position its place. A profile that is not a JSON object
/// fails the whole read, naming its key.
pub(super) fn compact_all(
    each: Box<EachProfile<'_>>,
    compared: &ComparedFields,
) -> Result<Vec<StoredProfile>> {
    let workers = super::threads_up_to(MAX_WORKERS);
    let parts = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(workers);
        let mut senders: Vec<SyncSender<Batch>> = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (sender, batches) = sync_channel::<Batch>(BATCHES_AHEAD);
            senders.push(sender);
            handles.push(scope.spawn(move || compact_batches(batches, compared)));
        }
        let mut batch = Batch::starting_at(0);
        let mut read = 0;
        let mut sent = 0;
        let mut hand_out = |batch: Batch| {
            let worker = &senders[sent % workers];
            sent += 1;
            // A worker stops at its first bad profile; its error is the one reported.
            worker
                .send(batch)
                .map_err(|_| anyhow!("a profile could not be compacted"))
        };
        let reading = each(&mut |key, json| {
            batch.profiles.push((key.into(), json.into()));
            read += 1;
            if batch.profiles.len() == PROFILES_PER_BATCH {
                hand_out(std::mem::replace(&mut batch, Batch::starting_at(read)))?;
            }
            Ok(())
        })
        .and_then(|()| match batch.profiles.is_empty() {
            true => Ok(()),
            false => hand_out(batch),
        });
        drop(senders);
        let parts: Vec<Result<Vec<StoredProfile>>> = handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect();
        let parts: Vec<Vec<StoredProfile>> = parts.into_iter().collect::<Result<_>>()?;
        reading.map(|()| parts)
    })?;
    Ok(merge(parts))
}

fn compact_batches(
    batches: std::sync::mpsc::Receiver<Batch>,
    compared: &ComparedFields,
) -> Result<Vec<StoredProfile>> {
    let mut part = Vec::new();
    for batch in batches {
        for (offset, (key, json)) in batch.profiles.iter().enumerate() {
            let position = position(batch.first + offset);
            part.push(compact_json(compared, position, key, json)?);
        }
    }
    Ok(part)
}

pub(super) fn position(place: usize) -> u32 {
    // Four billion profiles do not fit in memory long before this saturates.
    u32::try_from(place).unwrap_or(u32::MAX)
}

/// Every profile of the parts, in the order it was read.
fn merge(parts: Vec<Vec<StoredProfile>>) -> Vec<StoredProfile> {
    let total = parts.iter().map(Vec::len).sum::<usize>();
    let mut parts = parts.into_iter();
    let mut whole = parts.next().unwrap_or_default();
    whole.reserve_exact(total - whole.len());
    for part in parts {
        whole.extend(part);
    }
    whole.sort_unstable_by_key(|profile| profile.position);
    whole
}

#[cfg(test)]
mod tests {
    use super::super::stored::digest;
    use super::*;
    use serde_json::json;

    fn profiles(count: usize) -> Vec<(String, String)> {
        (0..count)
            .map(|i| {
                // Names in an order that differs between profiles, and one only some have.
                let document = match i % 3 {
                    0 => json!({"email": format!("u{i}@example.com"), "employeeid": i, "title": "T"}),
                    1 => json!({"title": "T", "employeeid": i, "email": format!("u{i}@example.com")}),
                    _ => json!({"city": "Oslo", "email": format!("u{i}@example.com"), "employeeid": i}),
                };
                (format!("u{i}@example.com"), document.to_string())
            })
            .collect()
    }

    fn read(rows: &[(String, String)]) -> Box<EachProfile<'_>> {
        Box::new(move |f| rows.iter().try_for_each(|(key, json)| f(key, json)))
    }

    fn compared() -> ComparedFields {
        ComparedFields::new(["title", "city"])
    }

    #[test]
    fn profiles_come_back_in_the_order_read_with_their_fields() {
        let rows = profiles(3 * PROFILES_PER_BATCH + 7);
        let profiles = compact_all(read(&rows), &compared()).unwrap();
        assert_eq!(profiles.len(), rows.len());
        let title = digest([("title", "T")]);
        let city = digest([("city", "Oslo")]);
        for (i, profile) in profiles.iter().enumerate() {
            assert_eq!(profile.position as usize, i);
            assert_eq!(profile.employee_id(), i.to_string());
            assert_eq!(profile.key(), rows[i].0);
            let (has_title, has_city) = (i % 3 != 2, i % 3 == 2);
            assert_eq!(profile.same_fields(title), has_title, "profile {i}");
            assert_eq!(profile.same_fields(city), has_city, "profile {i}");
        }
    }

    #[test]
    fn a_bad_profile_fails_the_read_with_its_key() {
        let mut rows = profiles(2 * PROFILES_PER_BATCH);
        rows[PROFILES_PER_BATCH + 3] = ("bad@example.com".into(), "[1]".into());
        let err = compact_all(read(&rows), &compared()).err().unwrap();
        assert!(format!("{err:#}").contains("bad@example.com"), "{err:#}");
    }

    #[test]
    fn a_store_that_fails_mid_read_fails_it() {
        let rows = profiles(PROFILES_PER_BATCH + 1);
        let err = compact_all(
            Box::new(|f| {
                f(&rows[0].0, &rows[0].1)?;
                Err(anyhow!("the database went away"))
            }),
            &compared(),
        )
        .err()
        .unwrap();
        assert_eq!(err.to_string(), "the database went away");
    }
}
