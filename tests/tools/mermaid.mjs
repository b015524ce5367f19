// Parses every ```mermaid block of a Markdown file with mermaid's own parser, then lays out each
// gantt as mermaid would (its task database computes every start and end), and prints the tasks
// as JSON: [[{section, task, start, end}, ...], ...] (ms). Exits non-zero on the first error.
import mermaid from 'mermaid';
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2], 'utf8');
const blocks = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
const charts = [];
for (const block of blocks) {
  await mermaid.parse(block);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(block);
  const tasks = diagram.db.getTasks().map((t) => ({
    section: t.section,
    task: t.task.trim(),
    start: t.startTime.getTime(),
    end: t.endTime.getTime(),
  }));
  for (const t of tasks) {
    if (!(t.end > t.start)) {
      throw new Error(`task ${t.task}: ends (${t.end}) before it starts (${t.start})`);
    }
  }
  charts.push(tasks);
}
console.log(JSON.stringify(charts));
