//! Paging of search results.

use super::Refusal;
use serde::Serialize;

/// Which page of a search to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

impl PageRequest {
    pub const DEFAULT_SIZE: u32 = 50;
    pub const MAX_SIZE: u32 = 1000;

    /// Page `page` (from 0) of `size` items; `size` must be 1..=[`Self::MAX_SIZE`].
    pub fn new(page: u32, size: u32) -> Result<Self, Refusal> {
        if size == 0 || size > Self::MAX_SIZE {
            return Err(Refusal::Invalid(format!(
                "page size must be between 1 and {}, not {size}",
                Self::MAX_SIZE
            )));
        }
        Ok(Self { page, size })
    }

    pub(super) fn limit(&self) -> i64 {
        i64::from(self.size)
    }

    pub(super) fn offset(&self) -> i64 {
        i64::from(self.page) * i64::from(self.size)
    }

    /// Wraps one page of results with the paging facts.
    pub(super) fn page<T>(&self, total: u64, data: Vec<T>) -> Page<T> {
        Page {
            total,
            page: self.page,
            size: self.size,
            data,
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 0,
            size: Self::DEFAULT_SIZE,
        }
    }
}

/// One page of results and how many there are in all.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Page<T> {
    pub total: u64,
    pub page: u32,
    pub size: u32,
    pub data: Vec<T>,
}
