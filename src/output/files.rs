//! Creating output files safely, the one way every output is made: owner-only
//! permissions (0600 on Unix, since outputs hold emails and user IDs), no
//! writing through a planted symbolic link unless `--force`, files replaced
//! whole through an exclusive temporary file beside them that is synced and
//! renamed into place, and every output path checked before the first request.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::OutputError;

/// Opens a file the run keeps writing to (the results): refuses an existing
/// file unless `force`, and a symbolic link unless `force`; owner-only.
pub fn create_in_place(path: &Path, force: bool) -> Result<File, OutputError> {
    refuse_symlink(path, force)?;
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create(true)
        .create_new(!force)
        .truncate(true);
    owner_only(&mut options);
    let file = options.open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => OutputError::Exists {
            path: path.to_owned(),
        },
        _ => io_error(path, source),
    })?;
    // An existing file opened with --force keeps its old bits otherwise.
    restrict(&file).map_err(|e| io_error(path, e))?;
    sync_parent(path).map_err(|e| io_error(path, e))?;
    Ok(file)
}

/// Opens a file the run appends to (the `--log-file` audit trail): created
/// owner-only when new, never through a symbolic link (refused at open, so a
/// link planted after any check is refused too).
pub fn open_append(path: &Path) -> Result<File, OutputError> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    owner_only(&mut options);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(|source| {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        match is_link {
            true => OutputError::Symlink {
                path: path.to_owned(),
            },
            false => io_error(path, source),
        }
    })?;
    restrict(&file).map_err(|e| io_error(path, e))?;
    Ok(file)
}

/// A private copy of `source` (standard input) in the system's temporary
/// directory: exclusive, unpredictable name, owner-only, removed when the
/// returned [`Spool`] is dropped.
pub fn spool(source: &mut impl std::io::Read) -> std::io::Result<Spool> {
    let (mut file, path) = temp_beside(&std::env::temp_dir().join("securid-bulk-stdin.csv"))?;
    SPOOLS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(path.clone());
    let spool = Spool { path };
    std::io::copy(source, &mut file)?;
    file.flush()?;
    Ok(spool)
}

/// A spooled copy of standard input, removed when dropped.
#[derive(Debug)]
pub struct Spool {
    pub path: PathBuf,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let mut spools = SPOOLS.lock().unwrap_or_else(|p| p.into_inner());
        spools.retain(|p| p != &self.path);
    }
}

/// Spools not yet removed, for a process that quits without unwinding (a
/// second Ctrl-C).
static SPOOLS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes every spool still there; called just before quitting at once.
pub fn remove_spools() {
    let spools = SPOOLS.lock().unwrap_or_else(|p| p.into_inner());
    for path in spools.iter() {
        let _ = std::fs::remove_file(path);
    }
}

/// Writes `path` whole: `write` fills an exclusive temporary file beside it,
/// which is synced and renamed over `path`, then the directory is synced. A
/// symbolic link at `path` is refused unless `force` (and then replaced, never
/// written through). An interruption leaves the old file or none.
pub fn replace_whole(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    refuse_symlink(path, force)?;
    let (mut file, temp) = temp_beside(path).map_err(|e| io_error(path, e))?;
    let written = write(&mut file)
        .and_then(|()| file.flush())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error(path, e));
    }
    sync_parent(path).map_err(|e| io_error(path, e))
}

/// Finds before anything is sent an output that could not be written: an
/// existing results or `--summary-json` file without `force`, a symbolic
/// link, a missing or read-only directory.
/// The retry file is checked in a dry run too, so a dry run finds what the
/// real run would refuse.
pub fn check_outputs(
    results: &Path,
    retry: &Path,
    summary_json: Option<&Path>,
    force: bool,
) -> Result<(), OutputError> {
    let to_stdout = super::naming::is_stdout(results);
    if results.exists() && !force && !to_stdout {
        let path = results.to_owned();
        return Err(OutputError::Exists { path });
    }
    if !to_stdout {
        check_creatable("-o/--output", results, force)?;
    }
    check_creatable("the retry file", retry, force)?;
    if let Some(summary) = summary_json {
        check_creatable("--summary-json", summary, force)?;
        if summary.exists() && !force {
            return Err(OutputError::Unusable {
                flag: "--summary-json".into(),
                path: summary.to_owned(),
                reason: "it already exists; pass --force to overwrite it".into(),
            });
        }
    }
    Ok(())
}

/// Checks before anything is sent that `path` can be created, so a typo is
/// found before the run rather than after it: the path is not a symbolic
/// link (unless `force`) nor a directory, and a probe file can be created
/// and removed beside it.
pub fn check_creatable(flag: &str, path: &Path, force: bool) -> Result<(), OutputError> {
    let unusable = |reason: String| OutputError::Unusable {
        flag: flag.to_owned(),
        path: path.to_owned(),
        reason,
    };
    refuse_symlink(path, force)?;
    if path.is_dir() {
        return Err(unusable("it is a directory".into()));
    }
    let (_probe, temp) = temp_beside(path).map_err(|e| unusable(e.to_string()))?;
    std::fs::remove_file(&temp).map_err(|e| unusable(e.to_string()))
}

/// Refuses a path that is a symbolic link, unless `force`.
pub fn refuse_symlink(path: &Path, force: bool) -> Result<(), OutputError> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link && !force {
        return Err(OutputError::Symlink {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// A new file beside `path` with an unpredictable name, created exclusively
/// (never an existing file or link) and owner-only.
pub fn temp_beside(path: &Path) -> std::io::Result<(File, PathBuf)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attempts = 0;
    loop {
        let temp = path.with_file_name(format!(".{name}.{:016x}.tmp", fastrand::u64(..)));
        let mut options = OpenOptions::new();
        options.write(true).read(true).create_new(true);
        owner_only(&mut options);
        match options.open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 8 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Syncs the directory holding `path`, so a created or renamed entry
/// survives a power loss. Only Unix can open a directory for this.
pub fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The first two roles whose paths are one file, and that file's path.
pub fn first_shared<'a>(roles: &[(&'a str, &'a Path)]) -> Option<(&'a str, &'a str, &'a Path)> {
    let identities: Vec<FileIdentity> = roles.iter().map(|(_, p)| FileIdentity::of(p)).collect();
    (0..roles.len()).find_map(|i| {
        let j = identities[..i].iter().position(|id| *id == identities[i])?;
        Some((roles[j].0, roles[i].0, roles[i].1))
    })
}

/// What makes two paths the same file: (device, inode) for a file that
/// exists, so hard links and symbolic links match; the normalised absolute
/// path for one that does not yet.
#[derive(Debug, PartialEq, Eq)]
pub enum FileIdentity {
    Existing(u64, u64),
    Planned(PathBuf),
}

impl FileIdentity {
    pub fn of(path: &Path) -> FileIdentity {
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::MetadataExt;
            return FileIdentity::Existing(meta.dev(), meta.ino());
        }
        #[cfg(not(unix))]
        if let Ok(canonical) = path.canonicalize() {
            return FileIdentity::Planned(canonical);
        }
        // A dangling link is the file it would create: its target.
        FileIdentity::Planned(normalised(&link_target(path)))
    }
}

/// Standard output as a file of its own (`-o -`): a duplicate of the
/// descriptor, so the results writer owns it like any results file.
pub fn stdout_file() -> std::io::Result<File> {
    #[cfg(unix)]
    let owned = std::os::fd::AsFd::as_fd(&std::io::stdout()).try_clone_to_owned()?;
    #[cfg(windows)]
    let owned =
        std::os::windows::io::AsHandle::as_handle(&std::io::stdout()).try_clone_to_owned()?;
    Ok(File::from(owned))
}

/// The file a symbolic link at `path` leads to, resolved through every
/// link when it exists; for a dangling link, its target read relative to
/// the link's directory. Any other path as it is.
pub fn link_target(path: &Path) -> PathBuf {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return path.to_owned();
    }
    if let Ok(target) = path.canonicalize() {
        return target;
    }
    match std::fs::read_link(path) {
        Ok(target) => match path.parent() {
            Some(dir) => normalised(&dir.join(target)),
            None => target,
        },
        Err(_) => path.to_owned(),
    }
}

/// The absolute path with `.` and `..` folded, its directory resolved through
/// links when it exists.
fn normalised(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut folded = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                folded.pop();
            }
            Component::CurDir => {}
            other => folded.push(other),
        }
    }
    match (folded.parent(), folded.file_name()) {
        (Some(dir), Some(name)) => match dir.canonicalize() {
            Ok(dir) => dir.join(name),
            Err(_) => folded,
        },
        _ => folded,
    }
}

fn owner_only(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = options;
}

fn restrict(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

fn io_error(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_that_do_not_exist_yet_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        let plain = dir.path().join("out.csv");
        let dotted = dir.path().join("a/.././out.csv");
        assert_eq!(FileIdentity::of(&plain), FileIdentity::of(&dotted));
        assert_ne!(
            FileIdentity::of(&plain),
            FileIdentity::of(&dir.path().join("a/out.csv"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_is_the_file_it_points_to() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let link = dir.path().join("sub/link.json");
        // Relative to the link's directory, not the working directory.
        std::os::unix::fs::symlink("../target.csv", &link).unwrap();
        let target = dir.path().join("target.csv");
        assert_eq!(FileIdentity::of(&link), FileIdentity::of(&target));
        let roles = [
            ("the results file", target.as_path()),
            ("--summary-json", &link),
        ];
        assert!(first_shared(&roles).is_some());
    }

    #[cfg(unix)]
    #[test]
    fn hard_links_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        std::fs::write(&a, "x").unwrap();
        std::fs::hard_link(&a, dir.path().join("b.csv")).unwrap();
        assert_eq!(
            FileIdentity::of(&a),
            FileIdentity::of(&dir.path().join("b.csv"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn replaced_files_are_owner_only_and_leave_no_temporary() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        replace_whole(&path, false, |f| f.write_all(b"{}")).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
