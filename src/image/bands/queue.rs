//! The one queue of bands of rows from the thread that makes them to the thread that encodes
//! them (`band_queue`): bounded, and each band's buffer handed back for the next band when the
//! consumer is done with it.
//!
//! A band of a 2400 px RGB `large` is about 1 MB. Allocated afresh for every band, each is a
//! new mapping on musl (whose allocator maps every allocation over ~128 KB and unmaps it when
//! freed): for the 16 MP seeding photo, 15 mappings and 11.5 MB of pages to fault in and zero
//! while both cores are busy. With the buffers handed back, as many are made as are in flight
//! at once: the queue's bound, the one being encoded and the one being filled (6 for a JPEG's
//! `large` encoded along its decode).

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Bands queued for an encoding thread (about 1 MB each for a 2400 px RGB `large` encoded along
/// its decode, 300 KB for a turned 1600 px one from `turn::turn_bands`): the producer waits
/// when the encoder is that many behind.
const QUEUED_BANDS: usize = 4;

/// A queue of bands, each tagged with a `T` (which encoder it is for), from one thread to
/// another; at most `QUEUED_BANDS` wait at once.
pub(in crate::image) fn band_queue<T>() -> (BandSender<T>, Receiver<(T, Band)>) {
    let (to, from) = sync_channel(QUEUED_BANDS);
    let pool = BandPool::new();
    (BandSender { to, pool }, from)
}

/// The producer's side of `band_queue`.
pub(in crate::image) struct BandSender<T> {
    to: SyncSender<(T, Band)>,
    pool: BandPool,
}

impl<T> BandSender<T> {
    /// Queues a copy of `rows`, tagged `tag` (waiting while the queue is full); false when the
    /// consumer has stopped taking bands.
    pub(in crate::image) fn send_copy(&self, tag: T, rows: &[u8]) -> bool {
        self.send(tag, rows.len(), |band| band.copy_from_slice(rows))
    }

    /// Queues a band of `len` bytes written by `fill`, tagged `tag`; false when the consumer
    /// has stopped taking bands.
    pub(in crate::image) fn send(&self, tag: T, len: usize, fill: impl FnOnce(&mut [u8])) -> bool {
        let band = self.pool.band(len, fill);
        self.to.send((tag, band)).is_ok()
    }
}

/// The producer's side: makes bands, from buffers handed back when there are some.
struct BandPool {
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
    fn new() -> BandPool {
        let (back, spare) = channel();
        BandPool { spare, back }
    }

    /// A band of `len` bytes written by `fill`.
    fn band(&self, len: usize, fill: impl FnOnce(&mut [u8])) -> Band {
        let mut buffer = self.spare.try_recv().unwrap_or_default();
        buffer.resize(len, 0);
        fill(&mut buffer);
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
        let a = pool.band(3, |b| b.copy_from_slice(&[1, 2, 3]));
        let address = a.as_ptr();
        assert_eq!(&*a, &[1, 2, 3]);
        // Consumed on another thread, as the encoder does.
        std::thread::spawn(move || drop(a)).join().unwrap();
        let b = pool.band(2, |b| b.copy_from_slice(&[4, 5]));
        assert_eq!(&*b, &[4, 5]);
        assert_eq!(b.as_ptr(), address, "the same buffer, refilled");
        let c = pool.band(4, |b| b.fill(6));
        assert_ne!(c.as_ptr(), b.as_ptr(), "none spare: a new one");
        drop(pool);
        drop(c);
    }

    #[test]
    fn a_queue_tells_when_its_consumer_stopped() {
        let (to, from) = band_queue::<bool>();
        assert!(to.send_copy(true, &[1, 2]));
        let (tag, band) = from.recv().unwrap();
        assert!(tag && *band == [1, 2]);
        drop(from);
        assert!(!to.send_copy(false, &[3]), "nobody takes it");
    }
}
