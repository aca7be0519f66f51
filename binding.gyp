# node-gyp entry point. The addon links ggml and libllama, which build with CMake, so this
# target delegates to the same CMake build that `npm install` runs (scripts/build-addon.mjs
# -> cmake-js -> CMakeLists.txt) and node-gyp's build/Release/tang_lora.node is its output.
# `npx node-gyp rebuild` therefore produces the same addon as `npm install`.
{
  "targets": [
    {
      "target_name": "tang_lora",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_build_addon",
          "inputs": [
            "<(module_root_dir)/CMakeLists.txt",
            "<!@(node -p \"require('fs').readdirSync('native/addon').map(f => 'native/addon/' + f).join(' ')\")",
            "<!@(node -p \"['common', 'engine', 'model', 'sampler'].flatMap(d => require('fs').readdirSync('native/' + d).map(f => 'native/' + d + '/' + f)).join(' ')\")"
          ],
          "outputs": ["<(module_root_dir)/build/Release/tang_lora.node"],
          "action": ["node", "<(module_root_dir)/scripts/build-addon.mjs"]
        }
      ]
    }
  ]
}
