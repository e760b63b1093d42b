// The layers of docs/architecture.md, enforced: a file under src/ may import
// its own folder and folders ranked below it, never one ranked above. One
// ranked list also rules out two folders importing each other.
const RANKS = [
  // pure
  ['protocol', 'lib'],
  // platform
  ['config'],
  ['logging'],
  ['database'],
  ['metrics'],
  ['live'],
  ['lifecycle'],
  ['jobs'],
  ['mqtt'],
  ['identity'],
  ['common'],
  ['audit'],
  ['tokens'],
  ['embedded'],
  // device domain
  ['credentials'],
  ['concentrators'],
  ['tariffs'],
  ['ingestion'],
  ['telemetry'],
  ['commands'],
  ['desired-state'],
  ['alarms'],
  ['firmware'],
  ['upgrades'],
  ['pki'],
  ['broker'],
  ['stream'],
  // HTTP surface
  ['auth'],
  ['http'],
  ['observability'],
];

const folders = RANKS.flat();
const rankOf = Object.fromEntries(RANKS.flatMap((group, i) => group.map((f) => [f, i])));
const higher = (folder) => folders.filter((f) => rankOf[f] > rankOf[folder]);
const sameRankOthers = (folder) =>
  folders.filter((f) => f !== folder && rankOf[f] === rankOf[folder]);
const alt = (list) => `^src/(${list.join('|')})/`;

const layerRules = folders.flatMap((folder) => {
  const forbidden = [...higher(folder), ...sameRankOthers(folder)];
  if (forbidden.length === 0) return [];
  return [
    {
      name: `layer-${folder}`,
      comment: `src/${folder}/ may not import a folder ranked at or above it (docs/architecture.md)`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: alt(forbidden) },
    },
  ];
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'unranked-folder',
      comment:
        'every folder under src/ has a place in the layers (add it to RANKS and docs/architecture.md)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: `^src/(?!(${folders.join('|')})/)[^/]+/` },
    },
    {
      name: 'root-files-are-the-top',
      comment:
        'the files at the root of src/ assemble the app: nothing under a folder imports them',
      severity: 'error',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'pure-stays-pure',
      comment: 'protocol/ and lib/ import no framework, database or MQTT library',
      severity: 'error',
      from: { path: '^src/(protocol|lib)/' },
      to: { path: 'node_modules/(@nestjs|typeorm|pg|mqtt|aedes)/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-from-tests-or-tools',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|tools)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
  },
};
