// The part of ECharts the pages use, typed here because echarts 5's own .d.ts files use extensionless
// relative imports that the repository's NodeNext resolution cannot follow (tsc would see no exports).
// Vite resolves the real modules at build time; these declarations only describe them.
declare module 'echarts/core' {
  export interface ECharts {
    setOption(option: Record<string, unknown>, opts?: { notMerge?: boolean; lazyUpdate?: boolean }): void;
    on(event: string, handler: (params: any) => void): void;
    off(event: string, handler?: (params: any) => void): void;
    resize(): void;
    dispose(): void;
    getDataURL(opts?: { type?: 'png' | 'jpeg'; backgroundColor?: string }): string;
  }
  export function use(extensions: unknown[]): void;
  export function init(el: HTMLElement, theme?: string | object | null, opts?: { renderer?: 'canvas' | 'svg'; width?: number; height?: number }): ECharts;
  export function registerMap(name: string, geoJson: object): void;
}
declare module 'echarts/charts' {
  export const MapChart: unknown;
  export const LinesChart: unknown;
  export const ScatterChart: unknown;
  export const BarChart: unknown;
  export const GaugeChart: unknown;
  export const LineChart: unknown;
}
declare module 'echarts/components' {
  export const GeoComponent: unknown;
  export const TooltipComponent: unknown;
  export const VisualMapComponent: unknown;
  export const GridComponent: unknown;
  export const LegendComponent: unknown;
  export const MarkLineComponent: unknown;
}
declare module 'echarts/renderers' {
  export const CanvasRenderer: unknown;
}
