//! Handing the pages of a buffer's consumed part back to the kernel while the buffer lives on:
//! a turned variant's strips, each no longer needed once turned into the band its encoder
//! takes, while the encoder's DCT coefficients grow by as much (`turning::Strips`).

// madvise(2) on our own allocation (the use has its SAFETY note).
#![allow(unsafe_code)]

/// Gives the kernel back the memory pages that lie wholly inside `bytes` (`madvise` with
/// `MADV_DONTNEED`): they stop counting towards the process's resident memory, and read as
/// zero if read again. Pages `bytes` shares with anything else at either end are left alone.
/// Does nothing where that call is not available or fails (the bytes then stay as they were):
/// it saves memory, it is never needed for a correct result.
pub(in crate::image) fn release(bytes: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(0);
        if page == 0 {
            return;
        }
        let start = bytes.as_mut_ptr() as usize;
        let (first, end) = (start.next_multiple_of(page), start + bytes.len());
        let last = end - end % page;
        if last > first {
            // SAFETY: `first..last` is whole pages inside `bytes`, which this function borrows
            // exclusively, so no other allocation or reference uses them; on a private
            // anonymous mapping (the allocator's) MADV_DONTNEED only makes them read as zero
            // from then on, which any u8 may be.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_DONTNEED,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn released_pages_read_as_zero_and_the_edges_keep_their_bytes() {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let mut buf = vec![7u8; 64 * page];
        let (from, to) = (1000, 64 * page - 1000);
        release(&mut buf[from..to]);
        assert!(buf[..from].iter().all(|&b| b == 7));
        assert!(buf[to..].iter().all(|&b| b == 7));
        // The whole pages inside were handed back: zero now; the partial ones at the ends,
        // shared with bytes outside the slice, were not.
        let mid = 32 * page;
        assert!(buf[mid - page..mid + page].iter().all(|&b| b == 0));
        assert_eq!(buf[from], 7);
        assert_eq!(buf[to - 1], 7);
    }
}
