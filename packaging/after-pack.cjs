/**
 * electron-builder's afterPack hook: fails the build when the packed app lacks the privileged
 * helper, which the app cannot work without (it only talks to burrowd). The helper ships outside
 * the asar as extraResources (helper/, from `npm run build:helper`; scripts/ with the install and
 * uninstall scripts). The helper exists for Linux only, so the macOS and Windows targets stop here
 * too until there is one for them: better no installer than one that cannot connect.
 */
const { accessSync, constants, statSync } = require('node:fs');
const { join } = require('node:path');

/** What must be in the app's resources directory, and whether it must be executable. */
const REQUIRED = [
  ['helper/burrowd', true],
  ['helper/burrow', true],
  ['helper/burrow_native.node', false],
  ['helper/burrow_crypto.node', false],
  ['scripts/install-helper.sh', true],
  ['scripts/uninstall-helper.sh', true],
];

/** The resources directory of a packed app: inside the .app bundle on macOS. */
function resourcesDir(context) {
  const platform = context.electronPlatformName;
  if (platform === 'darwin' || platform === 'mas') {
    return join(
      context.appOutDir,
      `${context.packager.appInfo.productFilename}.app`,
      'Contents',
      'Resources',
    );
  }
  return join(context.appOutDir, 'resources');
}

/** The problems with the packed helper, in words; empty when all is there. */
function helperProblems(resources) {
  const problems = [];
  for (const [path, executable] of REQUIRED) {
    const full = join(resources, path);
    let stat;
    try {
      stat = statSync(full);
    } catch {
      problems.push(`${path} is missing`);
      continue;
    }
    if (!stat.isFile() || stat.size === 0) problems.push(`${path} is not a non-empty file`);
    else if (executable) {
      try {
        accessSync(full, constants.X_OK);
      } catch {
        problems.push(`${path} is not executable`);
      }
    }
  }
  return problems;
}

async function afterPack(context) {
  const resources = resourcesDir(context);
  const problems = helperProblems(resources);
  if (problems.length > 0) {
    throw new Error(
      `afterPack: the Burrow helper is not in ${resources}: ${problems.join('; ')}. ` +
        'Run `npm run build:helper` first (Linux only: there is no helper for other platforms yet).',
    );
  }
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.helperProblems = helperProblems;
module.exports.resourcesDir = resourcesDir;
