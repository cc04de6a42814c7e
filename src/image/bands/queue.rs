//! Buffers for bands of rows that one thread makes and another consumes, handed back for the
//! next band when the consumer is done with one.
//!
//! A band of a 2400 px RGB `large` is about 1 MB. Allocated afresh for every band, each is a
//! new mapping on musl (whose allocator maps every allocation over ~128 KB and unmaps it when
//! freed): for the 16 MP seeding photo, 15 mappings and 11.5 MB of pages to fault in and zero
//! while both cores are busy. With the buffers handed back, as many are made as are in flight
//! at once: the queue's bound, the one being encoded and the one being filled (6 for
//! `jpeg::Along`).

use std::sync::mpsc::{channel, Receiver, Sender};

/// Bands queued for an encoding thread (about 1 MB each for a 2400 px RGB `large` from
/// `jpeg::Along`, 300 KB for a turned 1600 px one from `turning::turn_bands`): the producer
/// waits when the encoder is that many behind.
pub(in crate::image) const QUEUED_BANDS: usize = 4;

/// The producer's side: makes bands, from buffers handed back when there are some.
pub(in crate::image) struct BandPool {
    spare: Receiver<Vec<u8>>,
    back: Sender<Vec<u8>>,
}

/// A band of rows (bytes) from a `BandPool`: its buffer goes back to the pool when dropped,
/// on whichever thread (or is freed, if the pool is gone).
pub(in crate::image) struct Band {
    rows: Vec<u8>,
    back: Sender<Vec<u8>>,
}

impl BandPool {
    pub(in crate::image) fn new() -> BandPool {
        let (back, spare) = channel();
        BandPool { spare, back }
    }

    /// A band holding a copy of `rows`.
    pub(in crate::image) fn copy_of(&self, rows: &[u8]) -> Band {
        let mut buffer = self.spare.try_recv().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(rows);
        Band {
            rows: buffer,
            back: self.back.clone(),
        }
    }
}

impl std::ops::Deref for Band {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.rows
    }
}

impl AsRef<[u8]> for Band {
    fn as_ref(&self) -> &[u8] {
        &self.rows
    }
}

impl Drop for Band {
    fn drop(&mut self) {
        // The pool may be gone (the producer finished or failed): the buffer is then freed.
        let _ = self.back.send(std::mem::take(&mut self.rows));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_band_buffer_is_used_again() {
        let pool = BandPool::new();
        let a = pool.copy_of(&[1, 2, 3]);
        let address = a.as_ptr();
        assert_eq!(&*a, &[1, 2, 3]);
        // Consumed on another thread, as the encoder does.
        std::thread::spawn(move || drop(a)).join().unwrap();
        let b = pool.copy_of(&[4, 5]);
        assert_eq!(&*b, &[4, 5]);
        assert_eq!(b.as_ptr(), address, "the same buffer, refilled");
        let c = pool.copy_of(&[6; 4]);
        assert_ne!(c.as_ptr(), b.as_ptr(), "none spare: a new one");
        drop(pool);
        drop(c);
    }
}
