/**
 * Line charts with uPlot (small, canvas, no inline styles that the CSP
 * would block): one chart per instance, resized with its container.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineSeries {
  label: string;
  color: string;
}

export class LineChart {
  private readonly plot: uPlot;
  private readonly resize: ResizeObserver;

  constructor(
    readonly target: HTMLElement,
    series: readonly LineSeries[],
    yLabel: string,
  ) {
    const width = Math.max(240, target.clientWidth || 600);
    this.plot = new uPlot(
      {
        width,
        height: 200,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
        axes: [{ stroke: '#8893a2', grid: { stroke: 'rgba(128,128,128,0.15)' } }, { stroke: '#8893a2', label: yLabel, grid: { stroke: 'rgba(128,128,128,0.15)' } }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } }))],
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      [[], ...series.map(() => [])],
      target,
    );
    this.resize = new ResizeObserver(() => {
      const w = target.clientWidth;
      if (w > 0 && Math.abs(w - this.plot.width) > 4) this.plot.setSize({ width: w, height: 200 });
    });
    this.resize.observe(target);
  }

  setData(x: number[], ys: number[][]): void {
    this.plot.setData([x, ...ys]);
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot.destroy();
  }
}
