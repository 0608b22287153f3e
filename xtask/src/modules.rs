//! Kernel modules for the guest: which files, and in which order to `insmod` them.
//!
//! The guest has no `modprobe` database, so the host works out the order from
//! `modinfo -F depends` and the guest loads plain `.ko` files one by one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{capture, io_err, Error, Result};

/// A module the lab asks for, with the parameters it is loaded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    /// Module name as `modinfo` spells it (`-` and `_` are interchangeable).
    pub name: &'static str,
    /// Parameters for `insmod`, e.g. `max_bonds=0`.
    pub params: &'static str,
}

/// What the lab loads: the NIC drivers and what the tests need beyond them.
/// Dependencies are added and ordered from `modinfo`, so this list need not be
/// in order or complete.
pub const WANTED: &[Wanted] = &[
    Wanted {
        name: "igb",
        params: "",
    },
    Wanted {
        name: "igbvf",
        params: "",
    },
    Wanted {
        name: "e1000e",
        params: "",
    },
    // Without max_bonds=0 the module creates a stray bond0.
    Wanted {
        name: "bonding",
        params: "max_bonds=0",
    },
    Wanted {
        name: "8021q",
        params: "",
    },
    Wanted {
        name: "dummy",
        params: "",
    },
    Wanted {
        name: "veth",
        params: "",
    },
    Wanted {
        name: "macvlan",
        params: "",
    },
    // Some netlink clients open these families at start-up.
    Wanted {
        name: "xfrm_user",
        params: "",
    },
    Wanted {
        name: "nfnetlink",
        params: "",
    },
    // Userspace (DPDK) drivers a VF can be bound to. vfio-pci needs the
    // machine's IOMMU (this kernel has no VFIO no-IOMMU mode); type1 is the
    // IOMMU backend a userspace driver opens.
    Wanted {
        name: "vfio_pci",
        params: "",
    },
    Wanted {
        name: "vfio_iommu_type1",
        params: "",
    },
    Wanted {
        name: "pci_stub",
        params: "",
    },
    // The host's root, shared read-only over 9p (virtio-pci is a module
    // on some kernels, built in on others).
    Wanted {
        name: "virtio_pci",
        params: "",
    },
    Wanted {
        name: "9p",
        params: "",
    },
    Wanted {
        name: "9pnet_virtio",
        params: "",
    },
];

/// One module to load in the guest, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// Canonical module name (underscores).
    pub name: String,
    /// Compressed or plain module file in the unpacked kernel.
    pub source: PathBuf,
    /// Parameters for `insmod`.
    pub params: String,
}

/// `-` and `_` name the same module; the kernel itself uses `_`.
pub fn canonical(name: &str) -> String {
    name.trim().replace('-', "_")
}

/// Orders `wanted` and everything they depend on so that every module comes
/// after its dependencies, keeping the order of `wanted` where it is free.
/// `depends` returns a module's direct dependencies.
pub fn load_order(
    wanted: &[&str],
    mut depends: impl FnMut(&str) -> Result<Vec<String>>,
) -> Result<Vec<String>> {
    // Depth-first post-order; `visiting` catches cycles, which modinfo should
    // never report but a corrupt tree could.
    fn visit(
        name: &str,
        depends: &mut dyn FnMut(&str) -> Result<Vec<String>>,
        visiting: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) -> Result<()> {
        if done.contains(name) {
            return Ok(());
        }
        if let Some(pos) = visiting.iter().position(|v| v == name) {
            let mut cycle = visiting[pos..].to_vec();
            cycle.push(name.to_string());
            return Err(Error::Module {
                module: name.to_string(),
                detail: format!("dependency cycle: {}", cycle.join(" -> ")),
            });
        }
        visiting.push(name.to_string());
        for dep in depends(name)? {
            visit(&canonical(&dep), depends, visiting, done, order)?;
        }
        visiting.pop();
        done.insert(name.to_string());
        order.push(name.to_string());
        Ok(())
    }

    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    for name in wanted {
        visit(
            &canonical(name),
            &mut depends,
            &mut Vec::new(),
            &mut done,
            &mut order,
        )?;
    }
    Ok(order)
}

/// Splits the output of `modinfo -F depends` into module names.
pub fn parse_depends(modinfo_output: &str) -> Vec<String> {
    modinfo_output
        .split([',', '\n'])
        .map(canonical)
        .filter(|n| !n.is_empty())
        .collect()
}

/// Finds every module file under `lib/modules/<release>/kernel`, by canonical name.
pub fn index(modules_root: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![modules_root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).map_err(io_err("read", &dir))? {
            let path = entry.map_err(io_err("read", &dir))?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Some(name) = module_name(&path) {
                found.insert(name, path);
            }
        }
    }
    Ok(found)
}

/// The canonical module name of a `.ko`, `.ko.xz`, `.ko.zst` or `.ko.gz` file.
pub fn module_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
        .map(canonical)
}

/// The canonical names of the modules built into the kernel, from the
/// `modules.builtin` next to `lib/modules/<release>/kernel` (empty without one).
pub fn builtin(modules_root: &Path) -> BTreeSet<String> {
    modules_root
        .parent()
        .and_then(|release| fs::read_to_string(release.join("modules.builtin")).ok())
        .map(|text| parse_builtin(&text))
        .unwrap_or_default()
}

/// Module names from `modules.builtin` (one `kernel/.../name.ko` a line).
pub fn parse_builtin(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| module_name(Path::new(line.trim())))
        .collect()
}

/// Resolves [`WANTED`] against an unpacked kernel: files and load order. A
/// wanted module this kernel builds in is already there and is left out; one
/// it has neither as a file nor built in is an error.
pub fn resolve(modules_root: &Path, modinfo: &Path, wanted: &[Wanted]) -> Result<Vec<Load>> {
    let files = index(modules_root)?;
    let builtin = builtin(modules_root);
    let file_of = |name: &str| {
        files.get(name).cloned().ok_or_else(|| Error::Module {
            module: name.to_string(),
            detail: format!("no such module under {}", modules_root.display()),
        })
    };
    let names: Vec<&str> = wanted
        .iter()
        .map(|w| w.name)
        .filter(|name| {
            let name = canonical(name);
            files.contains_key(&name) || !builtin.contains(&name)
        })
        .collect();
    let order = load_order(&names, |name| {
        let path = file_of(name)?;
        let out = capture(Command::new(modinfo).args(["-F", "depends"]).arg(&path))?;
        Ok(parse_depends(&out))
    })?;
    order
        .into_iter()
        .map(|name| {
            let params = wanted
                .iter()
                .find(|w| canonical(w.name) == name)
                .map_or("", |w| w.params);
            Ok(Load {
                source: file_of(&name)?,
                params: params.to_string(),
                name,
            })
        })
        .collect()
}

/// Writes the module uncompressed to `dest`: busybox `insmod` takes plain `.ko` files.
pub fn decompress(source: &Path, dest: &Path) -> Result<()> {
    let name = source.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        Some("xz")
    } else if name.ends_with(".zst") {
        Some("zstd")
    } else if name.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => fs::copy(source, dest)
            .map(drop)
            .map_err(io_err("copy", source)),
        Some(tool) => {
            let file = fs::File::create(dest).map_err(io_err("create", dest))?;
            crate::error::run(
                Command::new(tool)
                    .args(["-d", "-c"])
                    .arg(source)
                    .stdout(file),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> impl FnMut(&str) -> Result<Vec<String>> {
        let map: BTreeMap<String, Vec<String>> = edges
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        move |name| {
            map.get(name).cloned().ok_or_else(|| Error::Module {
                module: name.to_string(),
                detail: "unknown".into(),
            })
        }
    }

    #[test]
    fn dependencies_come_before_their_users() {
        let deps = graph(&[
            ("igb", &["dca", "i2c-algo-bit"]),
            ("dca", &[]),
            ("i2c_algo_bit", &[]),
            ("8021q", &["garp", "mrp"]),
            ("garp", &["stp", "llc"]),
            ("stp", &["llc"]),
            ("llc", &[]),
            ("mrp", &[]),
        ]);
        let order = load_order(&["8021q", "igb"], deps).unwrap();
        assert_eq!(
            order,
            [
                "llc",
                "stp",
                "garp",
                "mrp",
                "8021q",
                "dca",
                "i2c_algo_bit",
                "igb"
            ]
        );
    }

    #[test]
    fn shared_dependencies_are_loaded_once() {
        let deps = graph(&[("a", &["c"]), ("b", &["c"]), ("c", &[])]);
        assert_eq!(load_order(&["a", "b"], deps).unwrap(), ["c", "a", "b"]);
    }

    #[test]
    fn wanted_order_is_kept_when_free() {
        let deps = graph(&[("veth", &[]), ("dummy", &[]), ("macvlan", &[])]);
        assert_eq!(
            load_order(&["veth", "dummy", "macvlan"], deps).unwrap(),
            ["veth", "dummy", "macvlan"]
        );
    }

    #[test]
    fn a_cycle_is_an_error_naming_it() {
        let deps = graph(&[("a", &["b"]), ("b", &["a"])]);
        let err = load_order(&["a"], deps).unwrap_err().to_string();
        assert!(err.contains("a -> b -> a"), "{err}");
    }

    #[test]
    fn an_unknown_module_is_an_error() {
        let deps = graph(&[("a", &["missing"])]);
        assert!(load_order(&["a"], deps).is_err());
    }

    #[test]
    fn depends_output_is_split_and_canonical() {
        assert_eq!(parse_depends("dca,i2c-algo-bit\n"), ["dca", "i2c_algo_bit"]);
        assert!(parse_depends("\n").is_empty());
    }

    #[test]
    fn builtin_modules_are_named_from_their_paths() {
        let names = parse_builtin(
            "kernel/drivers/pci/pci-stub.ko\nkernel/net/tls/tls.ko\n\nmodules.order\n",
        );
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["pci_stub", "tls"]);
    }

    #[test]
    fn module_names_come_from_any_compression() {
        assert_eq!(
            module_name(Path::new("/k/i2c-algo-bit.ko.xz")).as_deref(),
            Some("i2c_algo_bit")
        );
        assert_eq!(module_name(Path::new("igb.ko")).as_deref(), Some("igb"));
        assert_eq!(module_name(Path::new("igb.ko.zst")).as_deref(), Some("igb"));
        assert_eq!(module_name(Path::new("modules.dep")), None);
    }
}
