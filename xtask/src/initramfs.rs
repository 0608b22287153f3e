//! The guest's root file system: a gzip'd `newc` cpio archive built in memory
//! as a list of entries and streamed to `gzip`, with the shared libraries of
//! every executable added from what `ldd` lists.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{capture, display, io_err, output, Error, Result};

/// Where an entry's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    Dir,
    Bytes(Vec<u8>),
    File(PathBuf),
    Symlink(String),
}

/// An archive under construction: guest path (without leading `/`) to entry.
#[derive(Debug, Default)]
pub struct Archive {
    entries: BTreeMap<String, (u32, Content)>,
}

impl Archive {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory and its parents.
    pub fn dir(&mut self, path: &str) {
        let path = normalize(path);
        let mut prefix = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            self.entries
                .entry(prefix.clone())
                .or_insert((0o040755, Content::Dir));
        }
    }

    /// Adds a file with the given contents and permission bits.
    pub fn bytes(&mut self, path: &str, contents: impl Into<Vec<u8>>, perm: u32) {
        self.insert(path, 0o100000 | perm, Content::Bytes(contents.into()));
    }

    /// Adds a file copied from the host when the archive is written.
    pub fn file(&mut self, path: &str, source: &Path, perm: u32) {
        self.insert(path, 0o100000 | perm, Content::File(source.to_path_buf()));
    }

    /// Adds a symbolic link.
    pub fn symlink(&mut self, path: &str, target: &str) {
        self.insert(path, 0o120777, Content::Symlink(target.to_string()));
    }

    /// Whether something already sits at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(&normalize(path))
    }

    fn insert(&mut self, path: &str, mode: u32, content: Content) {
        let path = normalize(path);
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.entries.insert(path, (mode, content));
    }

    /// Writes the archive in `newc` format. Entries come out sorted by path, so
    /// every directory precedes what it holds.
    pub fn write_newc(&self, out: &mut impl Write) -> Result<()> {
        let mut written = 0u64;
        for (ino, (path, (mode, content))) in self.entries.iter().enumerate() {
            let data: Option<Vec<u8>> = match content {
                Content::Dir | Content::File(_) => None,
                Content::Bytes(b) => Some(b.clone()),
                Content::Symlink(t) => Some(t.as_bytes().to_vec()),
            };
            let size = match (content, &data) {
                (Content::File(src), _) => fs::metadata(src).map_err(io_err("stat", src))?.len(),
                (_, Some(d)) => d.len() as u64,
                _ => 0,
            };
            let nlink = if matches!(content, Content::Dir) {
                2
            } else {
                1
            };
            let header = newc_header(ino as u32 + 1, *mode, nlink, size, path)?;
            let stream_err = io_err("write archive entry", path);
            out.write_all(&header).map_err(stream_err)?;
            written += header.len() as u64;
            match (content, data) {
                (Content::File(src), _) => {
                    let mut f = fs::File::open(src).map_err(io_err("open", src))?;
                    let copied = io::copy(&mut f, out).map_err(io_err("copy into archive", src))?;
                    if copied != size {
                        return Err(Error::Provision {
                            what: src.display().to_string(),
                            detail: format!(
                                "changed size while being archived ({size} -> {copied})"
                            ),
                        });
                    }
                }
                (_, Some(d)) => out
                    .write_all(&d)
                    .map_err(io_err("write archive entry", path))?,
                _ => {}
            }
            written += size;
            pad(out, &mut written)?;
        }
        let trailer = newc_header(0, 0, 1, 0, "TRAILER!!!")?;
        out.write_all(&trailer)
            .map_err(io_err("write archive", "TRAILER!!!"))?;
        written += trailer.len() as u64;
        pad(out, &mut written)
    }

    /// Writes the archive to `dest` compressed by `gzip -1`: the guest
    /// decompresses it under emulation, where a higher level saves little.
    pub fn write_gzip(&self, dest: &Path) -> Result<()> {
        let file = fs::File::create(dest).map_err(io_err("create", dest))?;
        let mut cmd = Command::new("gzip");
        cmd.args(["-1", "-c"]).stdin(Stdio::piped()).stdout(file);
        let mut child = cmd.spawn().map_err(|e| Error::Command {
            command: display(&cmd),
            detail: format!("could not start it: {e}"),
        })?;
        let mut stdin = io::BufWriter::with_capacity(1 << 20, child.stdin.take().expect("piped"));
        let written = self
            .write_newc(&mut stdin)
            .and_then(|()| stdin.flush().map_err(io_err("write", dest)));
        drop(stdin);
        let status = child
            .wait()
            .map_err(io_err("wait for gzip writing", dest))?;
        written?;
        if !status.success() {
            return Err(Error::Command {
                command: display(&cmd),
                detail: format!("exited with {status}"),
            });
        }
        Ok(())
    }
}

fn normalize(path: &str) -> String {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn pad(out: &mut impl Write, written: &mut u64) -> Result<()> {
    let padding = (4 - (*written % 4)) % 4;
    out.write_all(&[0u8; 3][..padding as usize])
        .map_err(io_err("write archive", "padding"))?;
    *written += padding;
    Ok(())
}

/// One `newc` header plus the NUL-terminated name, padded to four bytes.
pub fn newc_header(ino: u32, mode: u32, nlink: u32, size: u64, name: &str) -> Result<Vec<u8>> {
    let size = u32::try_from(size).map_err(|_| Error::Provision {
        what: name.to_string(),
        detail: "larger than the 4 GiB a newc archive entry can hold".into(),
    })?;
    let namesize = name.len() as u32 + 1;
    let fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, namesize, 0];
    let mut header = String::from("070701");
    for field in fields {
        header.push_str(&format!("{field:08x}"));
    }
    let mut bytes = header.into_bytes();
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0);
    while bytes.len() % 4 != 0 {
        bytes.push(0);
    }
    Ok(bytes)
}

/// The shared libraries `ldd` lists for an executable, the loader included;
/// empty for a static one.
pub fn shared_libraries(executable: &Path) -> Result<Vec<PathBuf>> {
    let mut cmd = Command::new("ldd");
    cmd.arg(executable);
    let out = output(&mut cmd)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // ldd exits 1 for static executables, saying so.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stdout.contains("not a dynamic executable")
            || stderr.contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        return Err(Error::Command {
            command: display(&cmd),
            detail: format!("exited with {}: {}", out.status, stderr.trim()),
        });
    }
    parse_ldd(&stdout).map_err(|lib| Error::Provision {
        what: executable.display().to_string(),
        detail: format!("needs {lib}, which ldd cannot find"),
    })
}

/// Parses `ldd` output into library paths; `Err` names a library not found.
pub fn parse_ldd(out: &str) -> Result<Vec<PathBuf>, String> {
    let mut libs = Vec::new();
    for line in out.lines().map(str::trim) {
        if let Some((name, rest)) = line.split_once("=>") {
            let rest = rest.trim();
            if rest.starts_with("not found") {
                return Err(name.trim().to_string());
            }
            if let Some(path) = rest
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/'))
            {
                libs.push(PathBuf::from(path));
            }
        } else if line.starts_with('/') {
            if let Some(path) = line.split_whitespace().next() {
                libs.push(PathBuf::from(path));
            }
        }
    }
    Ok(libs)
}

/// Adds an executable at `guest_path` and every library it needs at the path
/// `ldd` gave, which the guest's loader searches by default.
pub fn add_executable(archive: &mut Archive, guest_path: &str, source: &Path) -> Result<()> {
    for lib in shared_libraries(source)? {
        let guest = lib.to_string_lossy().into_owned();
        if !archive.contains(&guest) {
            // Libraries are often symlinks (libc.so.6 -> libc-2.36.so): copy what they name.
            let real = fs::canonicalize(&lib).map_err(io_err("resolve", &lib))?;
            archive.file(&guest, &real, 0o755);
        }
    }
    archive.file(guest_path, source, 0o755);
    Ok(())
}

/// Copies `source` to `dest` without debug information, which is most of a
/// debug test binary's size and of no use in the guest.
pub fn strip_debug(source: &Path, dest: &Path) -> Result<()> {
    capture(
        Command::new("strip")
            .arg("--strip-debug")
            .arg("-o")
            .arg(dest)
            .arg(source),
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_u32(hex: &[u8]) -> u32 {
        u32::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap()
    }

    /// A minimal reader of what `write_newc` writes: (name, mode, data).
    fn parse(mut bytes: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
        let mut total = 0usize;
        let mut out = Vec::new();
        loop {
            assert_eq!(&bytes[..6], b"070701");
            let field = |i: usize| read_u32(&bytes[6 + 8 * i..14 + 8 * i]);
            let mode = field(1);
            let size = field(6) as usize;
            let namesize = field(11) as usize;
            let name = std::str::from_utf8(&bytes[110..110 + namesize - 1])
                .unwrap()
                .to_string();
            assert_eq!(bytes[110 + namesize - 1], 0);
            let data_start = (110 + namesize).next_multiple_of(4);
            let data = bytes[data_start..data_start + size].to_vec();
            let next = (data_start + size).next_multiple_of(4);
            total += next;
            bytes = &bytes[next..];
            if name == "TRAILER!!!" {
                assert!(bytes.is_empty(), "nothing after the trailer");
                assert_eq!(total % 4, 0);
                return out;
            }
            out.push((name, mode, data));
        }
    }

    #[test]
    fn header_is_110_bytes_plus_padded_name() {
        let h = newc_header(1, 0o100755, 1, 5, "init").unwrap();
        assert_eq!(&h[..6], b"070701");
        assert_eq!(h.len(), 116);
        assert_eq!(&h[110..115], b"init\0");
        assert_eq!(h.len() % 4, 0);
    }

    #[test]
    fn entries_round_trip_with_parents_first() {
        let mut a = Archive::new();
        a.bytes("/lab/tests/run", b"#!/bin/sh\n".to_vec(), 0o755);
        a.symlink("bin/sh", "busybox");
        a.dir("/proc");
        let entries = parse(&{
            let mut v = Vec::new();
            a.write_newc(&mut v).unwrap();
            v
        });
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            ["bin", "bin/sh", "lab", "lab/tests", "lab/tests/run", "proc"]
        );
        assert_eq!(entries[1].1, 0o120777);
        assert_eq!(entries[1].2, b"busybox");
        assert_eq!(entries[4].1, 0o100755);
        assert_eq!(entries[4].2, b"#!/bin/sh\n");
        assert_eq!(entries[5].1, 0o040755);
    }

    #[test]
    fn host_files_are_copied_with_their_size() {
        let dir = std::env::temp_dir().join(format!("xtask-cpio-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let src = dir.join("odd");
        fs::write(&src, b"12345").unwrap();
        let mut a = Archive::new();
        a.file("x/odd", &src, 0o644);
        let mut v = Vec::new();
        a.write_newc(&mut v).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let entries = parse(&v);
        assert_eq!(
            entries[1],
            ("x/odd".to_string(), 0o100644, b"12345".to_vec())
        );
    }

    #[test]
    fn ldd_output_gives_resolved_paths_and_the_loader() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f52)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f52)\n";
        assert_eq!(
            parse_ldd(out).unwrap(),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn a_missing_library_is_named() {
        let out = "\tlibbpf.so.1 => not found\n";
        assert_eq!(parse_ldd(out).unwrap_err(), "libbpf.so.1");
    }
}
