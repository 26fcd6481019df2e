// What the pages' ECharts share: a chart that follows its box's size, and the dark theme's axis and tooltip styles.
import * as echarts from 'echarts/core';

export const axisText = { color: '#8aa0bb' };
export const tooltipStyle = { backgroundColor: 'rgba(10, 18, 32, 0.94)', borderColor: '#2b4a6f', textStyle: { color: '#e6edf7' } };

/** A canvas chart in `el`, resized whenever `el` is. */
export function chartIn(el: HTMLElement): echarts.ECharts {
  const c = echarts.init(el, undefined, { renderer: 'canvas' });
  new ResizeObserver(() => c.resize()).observe(el);
  return c;
}

export const axisLine = { lineStyle: { color: '#2b4a6f' } };
export const splitLine = { lineStyle: { color: '#1d3350' } };
export const legendText = { color: '#9fb3cc' };

/** A category axis of days (YYYY-MM-DD), labelled MM-DD. */
export function dayAxis(days: string[], boundaryGap = true): Record<string, unknown> {
  return { type: 'category', boundaryGap, data: days.map((d) => d.slice(5)), axisLabel: axisText, axisLine };
}

/** A value axis in the dark style; `percent` labels 0..1 as 0%..100%. */
export function valueAxis(extra: Record<string, unknown> = {}, percent = false): Record<string, unknown> {
  return { type: 'value', minInterval: percent ? undefined : 1, axisLabel: percent ? { ...axisText, formatter: (v: number) => `${Math.round(v * 100)}%` } : axisText, splitLine, ...extra };
}
