// Adapters out and in (issue 12), host side: pure TypeScript on CPU arrays, no GPU, no DOM. The
// worker reads the trained parameters back (trainer → StackedParams → unstackParams), hands them
// here, and uploads what importAdapter returns (stackParams). README "Adapter formats" documents
// the files.
//
// Export (every function takes an AdapterExport: { spec, cfg, params, base, intuition? }, with
// `params` keyed like adaptedLayers(spec, cfg), `base` = { name: base_model_name_or_path | null,
// config: the base config.json bytes | null } and `intuition` = the run's IntuitionModel or null;
// each resolves to ExportFile[] = Array<{ name, bytes }>, paths inside the export folder):
//   exportAdapter(a)                   LoRA → exportPeftLora, other methods → exportMor1e
//   exportPeftLora(a)                  adapter_model.safetensors + adapter_config.json (PEFT)
//   exportMor1e(a)                     adapter_model.safetensors + mor1e_config.json (+ intuition.safetensors)
//   exportMerged(a, model, files?)     LoRA only: config.json, the given tokenizer files, model.safetensors
//                                      with W + (alpha/r)·B·A in the original names and dtypes;
//                                      `model` is the OpenedModel (its `tensors` map is read)
//   exportPerCluster(a, { meanRouting, tokens? })
//                                      cluster-NN/{adapter_model.safetensors, adapter_config.json}
//                                      (static PEFT LoRAs), clusters.json, intuition.safetensors;
//                                      meanRouting: adapted-layer key → (clusters x E) mean routing weights
//   staticLoRA(layerSpec, params, g)   one layer's LoRA with its routing frozen at g
// Import:
//   importAdapter(files, { spec, config, name? }) → { format, config, params, intuition, baseModel, warnings }
//                                      (a .zip among files is expanded first: expandZips)
//     files: ExportFile[] of one adapter folder (either format; a common folder prefix is fine;
//     under a URL prefix fetch ADAPTER_FILES, a missing one simply left out); `config`: the loaded
//     model's config.json bytes, checked against base_config_sha256. Refusals are
//     AdapterImportError (export refusals AdapterExportError), each naming the file and tensor or key.
export {
  ADAPTER_FILES, ADAPTER_MODEL_FILE, INTUITION_FILE, MOR1E_CONFIG_FILE, PEFT_CONFIG_FILE, MOR1E_FORMAT, MOR1E_VERSION,
  AdapterExportError, AdapterImportError, hfModulePath, tensorKey, targetModuleNames, matchTargets, sha256Hex,
  type AdapterExport, type BaseModelRef, type ExportFile, type IntuitionRecord, type IntuitionRecordSource,
} from './format.ts';
export { exportAdapter, exportPeftLora, exportMor1e } from './adapter.ts';
export { exportMerged, addLoraDelta } from './merge.ts';
export { exportPerCluster, staticLoRA, type PerClusterOptions } from './perCluster.ts';
export { expandZips, importAdapter, type ImportedAdapter, type ImportTarget } from './import.ts';
