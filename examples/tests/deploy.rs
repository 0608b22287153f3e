//! The Kubernetes manifests under `deploy/`: every file is YAML a cluster
//! takes, every NetworkAttachmentDefinition's configuration is one the
//! plugins take (read by cniconf as the plugin reads it, with what Multus
//! adds), pods ask for the networks and device plugin resources that
//! exist, and the DaemonSet installs the binaries this package builds.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use netplumb_cniconf::{BondConf, NetConf, NetConfList, SriovConf};
use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

const RESOURCE_NAME: &str = "k8s.v1.cni.cncf.io/resourceName";
const NETWORKS: &str = "k8s.v1.cni.cncf.io/networks";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Every `.yaml` file under `deploy/`, sorted.
fn manifests() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&deploy_dir(), &mut out);
    out.sort();
    assert!(!out.is_empty(), "no manifests under {:?}", deploy_dir());
    out
}

/// The documents of one file, each checked to be a Kubernetes object.
fn documents(path: &Path) -> Vec<Yaml> {
    let text = fs::read_to_string(path).unwrap();
    let docs = YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    for doc in &docs {
        for field in ["apiVersion", "kind"] {
            assert!(
                doc[field].as_str().is_some(),
                "{}: no {field}",
                path.display()
            );
        }
        assert!(
            doc["metadata"]["name"].as_str().is_some(),
            "{}: a {} without metadata.name",
            path.display(),
            str_of(&doc["kind"])
        );
    }
    docs
}

fn str_of(yaml: &Yaml) -> &str {
    yaml.as_str().unwrap_or("")
}

fn docs_of_kind<'a>(docs: &'a [Yaml], kind: &str) -> impl Iterator<Item = &'a Yaml> {
    let kind = kind.to_owned();
    docs.iter().filter(move |d| str_of(&d["kind"]) == kind)
}

/// A NetworkAttachmentDefinition's configuration as the plugin reads it:
/// Multus adds `runtimeConfig.deviceID` (the VF the device plugin picked)
/// when the definition names a device plugin resource.
fn check_config(file: &str, nad: &Yaml) -> (String, Value) {
    let name = str_of(&nad["metadata"]["name"]).to_owned();
    let what = format!("{file}: {name}");
    let text = nad["spec"]["config"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: spec.config is not a string"));
    let json: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: config not JSON: {e}"));
    let net = NetConf::from_slice(text.as_bytes());
    let confs: Vec<Value> = match json.get("plugins") {
        Some(_) => {
            let list =
                NetConfList::from_slice(text.as_bytes()).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(list.name.as_deref(), Some(name.as_str()), "{what}");
            json["plugins"].as_array().unwrap().clone()
        }
        None => {
            let net = net.unwrap_or_else(|e| panic!("{what}: {e}"));
            // Multus names the network by the definition's name.
            assert_eq!(net.name, name, "{what}: the config's name");
            vec![json.clone()]
        }
    };
    let resource = nad["metadata"]["annotations"][RESOURCE_NAME].as_str();
    for mut conf in confs {
        conf["name"] = json!(name);
        if conf.get("cniVersion").is_none() {
            conf["cniVersion"] = json.get("cniVersion").cloned().unwrap_or(Value::Null);
        }
        match conf["type"].as_str() {
            Some("sriov") => {
                if resource.is_some() {
                    assert!(
                        conf.get("deviceID").is_none() && conf.get("master").is_none(),
                        "{what}: the device plugin picks the VF; naming one too is a conflict"
                    );
                    conf["runtimeConfig"] = json!({"deviceID": "0000:3b:02.0"});
                }
                let sriov = SriovConf::from_slice(conf.to_string().as_bytes())
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                sriov
                    .vf_selector()
                    .unwrap_or_else(|e| panic!("{what}: no VF to pick: {e}"));
            }
            Some("bond") => {
                let bond = BondConf::from_slice(conf.to_string().as_bytes())
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(bond.links.len() >= 2, "{what}");
            }
            other => panic!("{what}: type {other:?} is not one of netplumb's plugins"),
        }
    }
    (name, json)
}

#[test]
fn every_manifest_is_yaml_of_kubernetes_objects() {
    for path in manifests() {
        let docs = documents(&path);
        assert!(!docs.is_empty(), "{}: empty", path.display());
    }
}

#[test]
fn every_network_config_is_one_the_plugins_take() {
    let mut seen = 0;
    for path in manifests() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for nad in docs_of_kind(&documents(&path), "NetworkAttachmentDefinition") {
            assert_eq!(str_of(&nad["apiVersion"]), "k8s.cni.cncf.io/v1", "{file}");
            check_config(&file, nad);
            seen += 1;
        }
    }
    assert!(seen >= 6, "only {seen} network definitions");
}

/// The networks a pod's annotation names, in order: (namespace, name,
/// interface name).
fn pod_networks(pod: &Yaml) -> Vec<(Option<String>, String, Option<String>)> {
    str_of(&pod["metadata"]["annotations"][NETWORKS])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (net, ifname) = match entry.split_once('@') {
                Some((net, ifname)) => (net, Some(ifname.to_owned())),
                None => (entry, None),
            };
            match net.split_once('/') {
                Some((ns, name)) => (Some(ns.to_owned()), name.to_owned(), ifname),
                None => (None, net.to_owned(), ifname),
            }
        })
        .collect()
}

#[test]
fn pods_ask_for_networks_and_resources_that_exist_and_bonds_bond_them() {
    let mut pods = 0;
    for path in manifests() {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let docs = documents(&path);
        let nads: BTreeMap<(String, String), &Yaml> =
            docs_of_kind(&docs, "NetworkAttachmentDefinition")
                .map(|nad| {
                    let ns = str_of(&nad["metadata"]["namespace"]).to_owned();
                    ((ns, str_of(&nad["metadata"]["name"]).to_owned()), nad)
                })
                .collect();
        for pod in docs_of_kind(&docs, "Pod") {
            pods += 1;
            let pod_ns = str_of(&pod["metadata"]["namespace"]).to_owned();
            let what = format!("{file}: pod {}", str_of(&pod["metadata"]["name"]));
            let networks = pod_networks(pod);
            assert!(!networks.is_empty(), "{what}: no networks");
            let requests = &pod["spec"]["containers"][0]["resources"]["requests"];
            // Multus names the interfaces net1, net2, ... unless told.
            let mut interfaces: Vec<(String, String)> = Vec::new();
            for (i, (ns, name, ifname)) in networks.iter().enumerate() {
                let key = (ns.clone().unwrap_or_else(|| pod_ns.clone()), name.clone());
                let nad = nads.get(&key).unwrap_or_else(|| {
                    panic!("{what}: network {key:?} is not defined in the file")
                });
                if let Some(resource) = nad["metadata"]["annotations"][RESOURCE_NAME].as_str() {
                    assert!(
                        requests[resource].as_str().is_some(),
                        "{what}: network {name} needs a {resource} from the device plugin"
                    );
                }
                let (_, config) = check_config(&file, nad);
                let ifname = ifname.clone().unwrap_or_else(|| format!("net{}", i + 1));
                if config["type"] == "bond" {
                    for link in config["links"].as_array().unwrap() {
                        let link = link["name"].as_str().unwrap();
                        let port = interfaces.iter().find(|(i, _)| i == link);
                        assert!(
                            port.is_some_and(|(_, t)| t == "sriov"),
                            "{what}: bond port {link} is not an SR-IOV interface the pod gets before the bond"
                        );
                    }
                }
                interfaces.push((ifname, config["type"].as_str().unwrap().to_owned()));
            }
        }
    }
    // Not vacuous: the examples have pods to check.
    assert!(pods > 0, "no Pod found in the manifests");
}

#[test]
fn the_daemonset_installs_the_plugins_this_package_builds() {
    let path = deploy_dir().join("daemonset.yaml");
    let docs = documents(&path);
    let ds = docs_of_kind(&docs, "DaemonSet")
        .next()
        .expect("a DaemonSet");
    let spec = &ds["spec"]["template"]["spec"];
    let init = &spec["initContainers"][0];
    let command: Vec<&str> = init["command"]
        .as_vec()
        .expect("the init container's command")
        .iter()
        .map(str_of)
        .collect();
    assert_eq!(command, ["/bin/sh", "/netplumb/install-cni.sh"]);
    let mount = &init["volumeMounts"][0];
    let volume = spec["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .expect("the mounted volume");
    assert_eq!(str_of(&volume["hostPath"]["path"]), "/opt/cni/bin");
    let env_dir = init["env"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|e| str_of(&e["name"]) == "CNI_BIN_DIR")
        .map(|e| str_of(&e["value"]))
        .unwrap();
    assert_eq!(env_dir, str_of(&mount["mountPath"]));
    // Root without capabilities for the copy; nothing else runs as root.
    let sc = &init["securityContext"];
    assert_eq!(sc["capabilities"]["drop"][0].as_str(), Some("ALL"));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    for container in spec["containers"].as_vec().unwrap() {
        assert_eq!(
            container["securityContext"]["runAsNonRoot"].as_bool(),
            Some(true)
        );
    }

    // The script installs, and the Containerfile builds, exactly the
    // plugin binaries of this package.
    let script = fs::read_to_string(deploy_dir().join("install-cni.sh")).unwrap();
    assert!(script.contains("for plugin in sriov bond; do"), "{script}");
    let containerfile = fs::read_to_string(deploy_dir().join("Containerfile")).unwrap();
    assert!(containerfile.contains("-p netplumb-examples --bin sriov --bin bond"));
    assert!(containerfile.contains("COPY deploy/install-cni.sh /netplumb/install-cni.sh"));
    let manifest =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    for bin in ["sriov", "bond"] {
        assert!(manifest.contains(&format!("name = \"{bin}\"")), "{bin}");
    }
}
