//! The input as a sealed memory file: written once, then neither writable nor resizable by
//! anyone, so that the parent and the confined child can both map the same pages read-only
//! (no copy of the bytes in the child) and neither can see them change.

// memfd_create, fcntl seals and mmap through libc (each use has its SAFETY note); the
// mapping is behind `Mapping`, whose `Drop` unmaps it.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd};

/// The seals a shared input must carry: no write, no shrink, no growth, no further change of
/// seals (memfd_create(2), fcntl(2) "File Sealing").
const SEALS: libc::c_int =
    libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

/// The input bytes in a sealed memory file, mapped read-only: what the job hands the image
/// stage and reads itself (to archive and hash it). Dereferences to the bytes.
pub struct SealedInput {
    file: File,
    map: Mapping,
}

impl SealedInput {
    /// Moves `bytes` into a new sealed memory file (the vector is freed once they are written,
    /// so the bytes are held once). Errors: the kernel refused memfd_create, a write or a seal
    /// (out of memory; a kernel before 3.17).
    pub fn new(bytes: Vec<u8>) -> std::io::Result<SealedInput> {
        let mut file = memfd()?;
        file.write_all(&bytes)?;
        drop(bytes);
        SealedInput::seal(file)
    }

    /// The whole of `from` (a local file: `variants`) copied into a new sealed memory file by
    /// the kernel, without passing through a buffer of ours.
    pub fn copy_of(from: &mut File) -> std::io::Result<SealedInput> {
        let mut file = memfd()?;
        std::io::copy(from, &mut file)?;
        SealedInput::seal(file)
    }

    fn seal(file: File) -> std::io::Result<SealedInput> {
        // SAFETY: F_ADD_SEALS on a descriptor we own, with a plain flag word.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let map = Mapping::of_sealed(file.as_fd())?;
        Ok(SealedInput { file, map })
    }

    /// The memory file, to hand to the child as its standard input.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl std::ops::Deref for SealedInput {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.map.bytes()
    }
}

/// A new, empty memory file that can be sealed.
fn memfd() -> std::io::Result<File> {
    // SAFETY: a NUL-terminated name and plain flags; the result is checked below.
    let fd = unsafe {
        libc::memfd_create(
            c"arke-input".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// A read-only shared mapping of a whole sealed file, unmapped when dropped.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and its file is sealed against writes and size changes
// (`of_sealed` checks), so its bytes never change: shared reads from any thread are sound.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps all of `fd`, which must carry the seals against writing and shrinking (a file
    /// someone could still write or truncate would change, or fault, under our reads).
    /// Errors: unsealed, or the kernel refused fstat, fcntl or mmap.
    pub fn of_sealed(fd: BorrowedFd<'_>) -> std::io::Result<Mapping> {
        // SAFETY: F_GET_SEALS on a valid descriptor.
        let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
        let needed = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK;
        if seals < 0 || seals & needed != needed {
            return Err(std::io::Error::other(
                "the input is not a sealed memory file",
            ));
        }
        let len = usize::try_from(File::from(fd.try_clone_to_owned()?).metadata()?.len())
            .map_err(std::io::Error::other)?;
        if len == 0 {
            return Ok(Mapping {
                ptr: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a new read-only shared mapping of `len` bytes of a valid descriptor; the
        // result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping { ptr, len })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` maps `len` readable bytes until `drop`, and they never change (sealed).
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: exactly the region `of_sealed` mapped; no slice of it outlives `self`.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_input_holds_the_bytes_and_refuses_writes() {
        let input = SealedInput::new(b"\xFF\xD8\xFF some bytes".to_vec()).unwrap();
        assert_eq!(&input[..], b"\xFF\xD8\xFF some bytes");
        let mut again = input.file().try_clone().unwrap();
        assert!(again.write_all(b"x").is_err(), "a sealed file took a write");
        assert!(again.set_len(1).is_err(), "a sealed file was truncated");
        let empty = SealedInput::new(Vec::new()).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn an_unsealed_file_is_not_mapped() {
        let file = tempfile::tempfile().unwrap();
        assert!(Mapping::of_sealed(file.as_fd()).is_err());
    }
}
