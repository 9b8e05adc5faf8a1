//! The vector index on disk, between a clean shutdown and the next start: per workspace a usearch graph file and
//! a slots file (what each graph key stands for), and a `saved.json` that lists them with the number of memories
//! and the dimension they were saved for. The files are deleted once loaded, so they never outlive the state
//! they describe: after a crash nothing is found and the index is rebuilt from the store, and an erased
//! customer's vectors do not stay behind in an old file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ann::{Ann, Tuning};
use super::local::{Slot, Space};
use super::IndexError;
use crate::domain::memory::MemoryKind;
use crate::domain::WorkspaceId;

const MANIFEST: &str = "saved.json";
const SLOTS_MAGIC: &[u8; 8] = b"RPLSLOT1";

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    dimension: usize,
    memories: u64,
    workspaces: Vec<SavedSpace>,
}

#[derive(Serialize, Deserialize)]
struct SavedSpace {
    workspace: String,
    file: String,
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> IndexError {
    IndexError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// The file stem for a workspace: its id in hex, whatever characters it holds.
fn stem(workspace: &WorkspaceId) -> String {
    workspace.as_str().bytes().map(|b| format!("{b:02x}")).collect()
}

/// The saved spaces, when a manifest exists and matches a store of `memories` memories of this dimension.
pub(super) fn load(
    dir: &Path,
    dimension: usize,
    tuning: Tuning,
    memories: u64,
) -> Result<Option<HashMap<WorkspaceId, Space>>, IndexError> {
    let manifest_path = dir.join(MANIFEST);
    let manifest: Manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| file_error(&manifest_path, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_error(&manifest_path, e)),
    };
    if manifest.format != 1 || manifest.dimension != dimension || manifest.memories != memories {
        return Ok(None);
    }
    let mut spaces = HashMap::new();
    for saved in manifest.workspaces {
        let graph = dir.join(format!("{}.usearch", saved.file));
        let ann = Ann::load(&graph, dimension, tuning)?;
        let slots = read_slots(&dir.join(format!("{}.slots", saved.file)))?;
        if slots.len() != ann.len() {
            return Ok(None);
        }
        let workspace = WorkspaceId::parse(&saved.workspace).map_err(|e| file_error(&manifest_path, e))?;
        spaces.insert(workspace, Space::from_parts(ann, slots));
    }
    Ok(Some(spaces))
}

/// Deletes every saved file (once loaded they would only go stale).
pub(super) fn mark_stale(dir: &Path) -> std::io::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                std::fs::remove_file(entry?.path())?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Saves every space, then the manifest that makes them loadable.
pub(super) fn save(dir: &Path, dimension: usize, spaces: &[(&WorkspaceId, &Space)]) -> Result<(), IndexError> {
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    mark_stale(dir).map_err(|e| file_error(dir, e))?;
    let mut manifest = Manifest {
        format: 1,
        dimension,
        memories: 0,
        workspaces: Vec::new(),
    };
    for (ws, space) in spaces {
        let file = stem(ws);
        space.ann.save(&dir.join(format!("{file}.usearch")))?;
        write_slots(&dir.join(format!("{file}.slots")), &space.slots)?;
        manifest.memories += space.slots.len() as u64;
        manifest.workspaces.push(SavedSpace {
            workspace: ws.to_string(),
            file,
        });
    }
    let path = dir.join(MANIFEST);
    let tmp: PathBuf = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| file_error(&path, e))?;
    std::fs::write(&tmp, bytes).map_err(|e| file_error(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| file_error(&path, e))?;
    tracing::info!(memories = manifest.memories, dir = %dir.display(), "vector index saved");
    Ok(())
}

fn write_slots(path: &Path, slots: &HashMap<u64, Slot>) -> Result<(), IndexError> {
    let write = || -> std::io::Result<()> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(SLOTS_MAGIC)?;
        out.write_all(&(slots.len() as u64).to_le_bytes())?;
        for (key, slot) in slots {
            let kind = MemoryKind::ALL.iter().position(|k| *k == slot.kind).unwrap_or(0) as u8;
            out.write_all(&key.to_le_bytes())?;
            out.write_all(&[kind])?;
            out.write_all(&slot.at.to_le_bytes())?;
            for text in [&*slot.customer, &*slot.id] {
                out.write_all(&(text.len() as u32).to_le_bytes())?;
                out.write_all(text.as_bytes())?;
            }
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    };
    write().map_err(|e| file_error(path, e))
}

fn read_slots(path: &Path) -> Result<HashMap<u64, Slot>, IndexError> {
    let read = || -> std::io::Result<HashMap<u64, Slot>> {
        let mut input = BufReader::new(File::open(path)?);
        let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic)?;
        if &magic != SLOTS_MAGIC {
            return Err(bad("not a slots file"));
        }
        let mut n8 = [0u8; 8];
        input.read_exact(&mut n8)?;
        let count = u64::from_le_bytes(n8);
        let mut slots = HashMap::with_capacity(count.min(100_000_000) as usize);
        let text = |input: &mut BufReader<File>| -> std::io::Result<String> {
            let mut n4 = [0u8; 4];
            input.read_exact(&mut n4)?;
            let len = u32::from_le_bytes(n4) as usize;
            if len > 4096 {
                return Err(bad("an id longer than 4096 bytes"));
            }
            let mut bytes = vec![0u8; len];
            input.read_exact(&mut bytes)?;
            String::from_utf8(bytes).map_err(|_| bad("an id is not UTF-8"))
        };
        for _ in 0..count {
            input.read_exact(&mut n8)?;
            let key = u64::from_le_bytes(n8);
            let mut kind = [0u8; 1];
            input.read_exact(&mut kind)?;
            input.read_exact(&mut n8)?;
            let at = i64::from_le_bytes(n8);
            let customer = text(&mut input)?;
            let id = text(&mut input)?;
            slots.insert(
                key,
                Slot {
                    customer: Arc::from(customer),
                    id: id.into(),
                    kind: *MemoryKind::ALL
                        .get(kind[0] as usize)
                        .ok_or_else(|| bad("an unknown kind"))?,
                    at,
                },
            );
        }
        Ok(slots)
    };
    read().map_err(|e| file_error(path, e))
}
