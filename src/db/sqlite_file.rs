//! The SQLite database file holds password hashes and email addresses: its directory is created
//! 0700 and the file 0600 (like `keys/master.key`), before SQLite opens it; SQLite gives its
//! `-wal` and `-shm` files the database file's mode.

use std::path::Path;

use super::DbError;

/// Creates the database's directory (0700) and an empty database file (0600) when missing, and
/// warns when an existing file can be read by other users.
pub fn prepare(path: &Path) -> Result<(), DbError> {
    let failed = |what: &Path, e: std::io::Error| {
        DbError::Migration(format!("cannot create {}: {e}", what.display()))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(parent).map_err(|e| failed(parent, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(|e| failed(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map(|m| m.permissions().mode()).unwrap_or(0);
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "the database file can be read by other users; it holds password hashes: chmod 600 it"
            );
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_database_is_private_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("latchkey.db");
        super::prepare(&path).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        assert_eq!(mode(&path), 0o600);
        // A second start leaves it as it is.
        super::prepare(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }
}
