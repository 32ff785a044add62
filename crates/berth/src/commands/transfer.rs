//! Tar streams in and out of the daemon: `save`, `load`, `import`, `export`, `cp`. Uploads
//! show a bar against the file size; downloads count bytes written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use bollard::query_parameters::{
    CreateImageOptions, DownloadFromContainerOptions, ImportImageOptions, UploadToContainerOptions,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::cli::{CpArgs, ExportArgs, ImportArgs, LoadArgs, SaveArgs};
use crate::client::{Client, Exit};
use crate::progress::{self, JsonProgress, Message};
use crate::tty;

/// Writes a byte stream to `output` (or stdout, never a terminal), counting bytes.
async fn write_stream<S>(stream: S, output: Option<&Path>, label: &str) -> Result<()>
where
    S: Stream<Item = Result<Bytes, bollard::errors::Error>>,
{
    let mut sink: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match output {
        Some(path) => Box::new(
            tokio::fs::File::create(path)
                .await
                .with_context(|| format!("create {}", path.display()))?,
        ),
        None => {
            if tty::is_terminal(libc::STDOUT_FILENO) {
                return Err(Exit::with(
                    1,
                    "Error: cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            Box::new(tokio::io::stdout())
        }
    };
    let bar = progress::bytes(label, None);
    let mut stream = Box::pin(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        sink.write_all(&chunk).await.context("write")?;
        bar.inc(chunk.len() as u64);
    }
    sink.flush().await?;
    bar.finish_and_clear();
    Ok(())
}

pub async fn save(c: &Client, a: SaveArgs) -> Result<()> {
    let names: Vec<&str> = a.images.iter().map(String::as_str).collect();
    let stream = c.api.export_images(&names);
    write_stream(stream, a.output.as_deref(), "Saving").await
}

pub async fn export(c: &Client, a: ExportArgs) -> Result<()> {
    let stream = c.api.export_container(&a.container);
    write_stream(stream, a.output.as_deref(), "Exporting").await
}

/// A file (or stdin) as a byte stream advancing an upload bar sized to the file.
async fn upload_source(
    path: Option<&Path>,
    label: &str,
) -> Result<(
    impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    indicatif::ProgressBar,
)> {
    let (reader, total): (Box<dyn tokio::io::AsyncRead + Unpin + Send>, Option<u64>) = match path {
        Some(p) => {
            let f = tokio::fs::File::open(p)
                .await
                .with_context(|| format!("open {}", p.display()))?;
            let len = f.metadata().await.ok().map(|m| m.len());
            (Box::new(f), len)
        }
        None => (Box::new(tokio::io::stdin()), None),
    };
    let bar = progress::bytes(label, total);
    let counter = bar.clone();
    let stream =
        tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024).inspect(move |c| {
            if let Ok(c) = c {
                counter.inc(c.len() as u64);
            }
        });
    Ok((stream, bar))
}

pub async fn load(c: &Client, a: LoadArgs) -> Result<()> {
    if a.input.is_none() && tty::is_terminal(libc::STDIN_FILENO) {
        return Err(Exit::with(
            1,
            "Error: requested load from stdin, but stdin is empty (use -i or a redirect)",
        ));
    }
    let (body, bar) = upload_source(a.input.as_deref(), "Loading").await?;
    let opts = ImportImageOptions {
        quiet: a.quiet,
        ..Default::default()
    };
    let mut stream = Box::pin(c.api.import_image_stream(opts.clone(), body, None));
    let mut progress = JsonProgress::new(a.quiet);
    while let Some(m) = stream.next().await {
        let m = match m {
            Ok(m) => Message::from(m),
            Err(e) => {
                bar.finish_and_clear();
                return Err(refused_upload(c, opts, e).await);
            }
        };
        bar.finish_and_clear();
        // "Loaded image: ..." lines are the command's output, on stdout as docker prints them.
        if let Some(text) = m.stream.as_deref() {
            crate::output::print(text);
        }
        let without_stream = Message { stream: None, ..m };
        if let Err(e) = progress.update(&without_stream) {
            bail!("{e}");
        }
    }
    bar.finish_and_clear();
    progress.finish();
    Ok(())
}

/// A daemon that refuses an upload answers before reading the body, and the client then sees
/// only a broken pipe. Asking again with an empty body recovers the daemon's own message when
/// it does not implement the endpoint (501); otherwise the original error stands.
async fn refused_upload(
    c: &Client,
    opts: ImportImageOptions,
    original: bollard::errors::Error,
) -> anyhow::Error {
    if matches!(
        original,
        bollard::errors::Error::DockerResponseServerError { .. }
    ) {
        return original.into();
    }
    let empty = futures_util::stream::empty::<Result<Bytes, std::io::Error>>();
    let mut retry = Box::pin(c.api.import_image_stream(opts, empty, None));
    match retry.next().await {
        Some(Err(
            e @ bollard::errors::Error::DockerResponseServerError {
                status_code: 501, ..
            },
        )) => e.into(),
        _ => original.into(),
    }
}

pub async fn import(c: &Client, a: ImportArgs) -> Result<()> {
    if a.file.contains("://") {
        bail!("importing from a URL is not supported; download the file and import it");
    }
    let path = (a.file != "-").then(|| PathBuf::from(&a.file));
    let (body, bar) = upload_source(path.as_deref(), "Importing").await?;
    let (repo, tag) = match &a.reference {
        Some(r) => {
            let (repo, tag) = super::image::split_reference(r);
            (Some(repo), tag)
        }
        None => (None, None),
    };
    let opts = CreateImageOptions {
        from_src: Some("-".into()),
        repo,
        tag,
        message: a.message.clone(),
        changes: a.change.clone(),
        ..Default::default()
    };
    let mut stream = Box::pin(c.api.create_image(
        Some(opts),
        Some(bollard::body_try_stream(body)),
        None,
    ));
    let mut id = None;
    while let Some(m) = stream.next().await {
        let m = m?;
        if let Some(e) = m.error_detail.and_then(|d| d.message) {
            bar.finish_and_clear();
            bail!("{e}");
        }
        id = m.status.or(id);
    }
    bar.finish_and_clear();
    if let Some(id) = id {
        println!("{id}");
    }
    Ok(())
}

/// `CONTAINER:PATH` (a local path with a colon must start with `/` or `.`).
fn split_container_path(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    arg.split_once(':').filter(|(c, _)| !c.is_empty())
}

pub async fn cp(c: &Client, a: CpArgs) -> Result<()> {
    match (split_container_path(&a.src), split_container_path(&a.dest)) {
        (Some((container, path)), None) => copy_out(c, container, path, &a.dest).await,
        (None, Some((container, path))) => copy_in(c, &a.src, container, path, a.archive).await,
        (Some(_), Some(_)) => Err(Exit::with(1, "copying between containers is not supported")),
        (None, None) => Err(Exit::with(1, "must specify at least one container source")),
    }
}

async fn copy_out(c: &Client, container: &str, path: &str, dest: &str) -> Result<()> {
    let opts = DownloadFromContainerOptions {
        path: path.to_string(),
    };
    let stream = c.api.download_from_container(container, Some(opts));
    if dest == "-" {
        let stdout = Box::pin(stream);
        let mut out = tokio::io::stdout();
        let mut s = stdout;
        while let Some(chunk) = s.next().await {
            out.write_all(&chunk?).await?;
        }
        out.flush().await?;
        return Ok(());
    }
    let mut tar = Vec::new();
    let mut s = Box::pin(stream);
    while let Some(chunk) = s.next().await {
        tar.extend_from_slice(&chunk?);
    }
    let dest = PathBuf::from(dest);
    tokio::task::spawn_blocking(move || unpack_to(&tar, &dest))
        .await
        .context("copy task")?
}

/// Unpacks the archive of one path: into `dest` if it is a directory, else as `dest`.
fn unpack_to(tar: &[u8], dest: &Path) -> Result<()> {
    if dest.is_dir() {
        tar::Archive::new(tar)
            .unpack(dest)
            .with_context(|| format!("extract into {}", dest.display()))?;
        return Ok(());
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        bail!("{}: no such directory", parent.display());
    }
    let staging = tempfile_dir(parent)?;
    let result = (|| {
        tar::Archive::new(tar)
            .unpack(&staging)
            .with_context(|| format!("extract into {}", staging.display()))?;
        let mut entries = std::fs::read_dir(&staging)?;
        let top = entries
            .next()
            .context("the archive from the daemon is empty")??
            .path();
        std::fs::rename(&top, dest).with_context(|| format!("create {}", dest.display()))
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn tempfile_dir(parent: &Path) -> Result<PathBuf> {
    let dir = parent.join(format!(".berth-cp-{}", std::process::id()));
    std::fs::create_dir(&dir).with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}

async fn copy_in(c: &Client, src: &str, container: &str, path: &str, archive: bool) -> Result<()> {
    let (target_dir, tar) = if src == "-" {
        let mut data = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut data).await?;
        (path.to_string(), data)
    } else {
        let src_path = PathBuf::from(src);
        let meta = std::fs::symlink_metadata(&src_path).with_context(|| format!("stat {src}"))?;
        let base = src_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("source has no file name")?;
        // An existing directory receives the source under its own name; otherwise the source
        // becomes `path` itself.
        let is_dir = c
            .api
            .get_container_archive_info(
                container,
                Some(bollard::query_parameters::ContainerArchiveInfoOptions {
                    path: path.to_string(),
                }),
            )
            .await
            .map(|s| s.file_mode & (1 << 31) != 0)
            .unwrap_or(false);
        let (dir, name) = if is_dir || path.ends_with('/') {
            (path.to_string(), base)
        } else {
            let p = Path::new(path);
            (
                p.parent()
                    .map_or("/".into(), |d| d.to_string_lossy().into_owned()),
                p.file_name()
                    .map_or(base, |n| n.to_string_lossy().into_owned()),
            )
        };
        let tar = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let mut b = tar::Builder::new(Vec::new());
            b.follow_symlinks(false);
            if meta.is_dir() {
                b.append_dir_all(&name, &src_path)?;
            } else {
                b.append_path_with_name(&src_path, &name)?;
            }
            Ok(b.into_inner()?)
        })
        .await
        .context("archive task")??;
        (dir, tar)
    };
    let opts = UploadToContainerOptions {
        path: target_dir,
        copy_uidgid: archive.then(|| "1".to_string()),
        ..Default::default()
    };
    c.api
        .upload_to_container(container, Some(opts), bollard::body_full(tar.into()))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
