// Word lists for the synthetic city: Shanghai's 16 districts (with their GB/T 2260 region codes, which also
// open the ID numbers of people registered there), common surnames with their rough shares, given-name
// characters, and syllables (with pinyin) that street, compound and venue names are built from.

export interface DistrictName {
  name: string;
  nameEn: string;
  region: string;
}

/** Ordered so that a small city gets the central districts first. */
export const DISTRICTS: readonly DistrictName[] = [
  { name: '黄浦区', nameEn: 'Huangpu', region: '310101' },
  { name: '徐汇区', nameEn: 'Xuhui', region: '310104' },
  { name: '静安区', nameEn: "Jing'an", region: '310106' },
  { name: '长宁区', nameEn: 'Changning', region: '310105' },
  { name: '普陀区', nameEn: 'Putuo', region: '310107' },
  { name: '虹口区', nameEn: 'Hongkou', region: '310109' },
  { name: '杨浦区', nameEn: 'Yangpu', region: '310110' },
  { name: '浦东新区', nameEn: 'Pudong', region: '310115' },
  { name: '闵行区', nameEn: 'Minhang', region: '310112' },
  { name: '宝山区', nameEn: 'Baoshan', region: '310113' },
  { name: '嘉定区', nameEn: 'Jiading', region: '310114' },
  { name: '松江区', nameEn: 'Songjiang', region: '310117' },
  { name: '青浦区', nameEn: 'Qingpu', region: '310118' },
  { name: '奉贤区', nameEn: 'Fengxian', region: '310120' },
  { name: '金山区', nameEn: 'Jinshan', region: '310116' },
  { name: '崇明区', nameEn: 'Chongming', region: '310151' },
];

/** Region codes of places many Shanghai residents were registered at birth (other provinces). */
export const OTHER_REGIONS: readonly string[] = [
  '320102', '320583', '320382', '321102', '330102', '330203', '330302', '340104', '341202', '341602',
  '410102', '411502', '420102', '430102', '360102', '370102', '510104', '350102', '130102', '230102',
];

/** Surnames with rough shares (percent) of China's population; 顾, 陆, 沈 a little higher as in Shanghai. */
const SURNAME_SHARES: readonly [string, number][] = [
  ['王', 7.1], ['李', 7.0], ['张', 6.6], ['刘', 5.4], ['陈', 4.5], ['杨', 3.1], ['黄', 2.1], ['赵', 2.0], ['吴', 2.0], ['周', 1.9],
  ['徐', 1.9], ['孙', 1.5], ['马', 1.2], ['朱', 1.3], ['胡', 1.1], ['郭', 1.1], ['何', 1.0], ['林', 1.0], ['高', 1.0], ['罗', 0.9],
  ['郑', 0.9], ['梁', 0.8], ['谢', 0.7], ['宋', 0.7], ['唐', 0.7], ['许', 0.7], ['韩', 0.7], ['冯', 0.6], ['邓', 0.6], ['曹', 0.6],
  ['彭', 0.5], ['曾', 0.5], ['肖', 0.5], ['田', 0.5], ['董', 0.5], ['袁', 0.5], ['潘', 0.5], ['于', 0.5], ['蒋', 0.5], ['蔡', 0.5],
  ['余', 0.5], ['杜', 0.4], ['叶', 0.4], ['程', 0.4], ['苏', 0.4], ['魏', 0.4], ['吕', 0.4], ['丁', 0.4], ['任', 0.4], ['沈', 0.6],
  ['姚', 0.4], ['卢', 0.4], ['姜', 0.3], ['崔', 0.3], ['钟', 0.3], ['谭', 0.3], ['陆', 0.5], ['汪', 0.3], ['范', 0.3], ['金', 0.3],
  ['石', 0.3], ['廖', 0.3], ['贾', 0.3], ['夏', 0.3], ['韦', 0.3], ['顾', 0.5], ['钱', 0.3], ['施', 0.2], ['倪', 0.2], ['严', 0.2],
  ['欧阳', 0.05], ['司马', 0.01], ['诸葛', 0.01],
];
export const SURNAMES: readonly string[] = SURNAME_SHARES.map((s) => s[0]);
export const SURNAME_CUM: Float64Array = (() => {
  const c = new Float64Array(SURNAME_SHARES.length);
  let t = 0;
  SURNAME_SHARES.forEach(([, w], i) => (c[i] = t += w));
  return c;
})();

export const GIVEN_M = '伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林晨阳建国志文海东峰亮成毅子轩睿博泽然一诚嘉豪宏德荣福康'.split('');
export const GIVEN_F = '芳娜敏静丽艳娟霞秀英玲燕萍红婷雪琳慧莹晶颖倩洁佳琪欣怡梦雨涵思月婉蕾丹兰凤悦诗瑶可馨彤晓春美琴'.split('');

/** Syllables for place names, with pinyin for the English names. */
export const SYLLABLES: readonly [string, string][] = [
  ['新', 'Xin'], ['华', 'Hua'], ['长', 'Chang'], ['安', 'An'], ['康', 'Kang'], ['宁', 'Ning'], ['江', 'Jiang'], ['浦', 'Pu'],
  ['虹', 'Hong'], ['桥', 'Qiao'], ['龙', 'Long'], ['田', 'Tian'], ['林', 'Lin'], ['枫', 'Feng'], ['泾', 'Jing'], ['南', 'Nan'],
  ['北', 'Bei'], ['东', 'Dong'], ['西', 'Xi'], ['金', 'Jin'], ['山', 'Shan'], ['嘉', 'Jia'], ['定', 'Ding'], ['平', 'Ping'],
  ['凉', 'Liang'], ['曹', 'Cao'], ['杨', 'Yang'], ['徐', 'Xu'], ['家', 'Jia'], ['汇', 'Hui'], ['梅', 'Mei'], ['陇', 'Long'],
  ['莘', 'Xin'], ['庄', 'Zhuang'], ['川', 'Chuan'], ['沙', 'Sha'], ['周', 'Zhou'], ['浜', 'Bang'], ['塘', 'Tang'], ['湾', 'Wan'],
  ['泉', 'Quan'], ['石', 'Shi'], ['岭', 'Ling'], ['天', 'Tian'], ['目', 'Mu'], ['和', 'He'], ['兴', 'Xing'], ['隆', 'Long'],
  ['丰', 'Feng'], ['顺', 'Shun'], ['明', 'Ming'], ['光', 'Guang'], ['春', 'Chun'], ['阳', 'Yang'], ['泰', 'Tai'], ['瑞', 'Rui'],
  ['祥', 'Xiang'], ['吉', 'Ji'], ['静', 'Jing'], ['芦', 'Lu'], ['潮', 'Chao'], ['淞', 'Song'], ['漕', 'Cao'], ['临', 'Lin'],
];

export const COMPOUND_SUFFIXES = ['新村', '小区', '花园', '苑', '公寓', '家园', '里', '坊', '名邸', '佳苑', '一村', '二村', '三村'];

export const VENUE_KIND_ZH: Record<string, string> = {
  supermarket: '超市', market: '菜场', restaurant: '餐馆', transit: '地铁站', office: '大厦', school: '学校',
  hospital: '社区卫生服务中心', pharmacy: '药房', gym: '健身中心', other: '便民服务点',
};

export const SUPERMARKETS = ['联华超市', '华联超市', '盒马鲜生', '家乐福', '大润发', '农工商超市', '好德便利', '罗森', '全家', '叮咚买菜站'];
export const PHARMACIES = ['雷允上药房', '华氏大药房', '第一医药', '国大药房', '益丰大药房'];
export const RESTAURANTS = ['面馆', '小笼馆', '本帮菜馆', '火锅店', '咖啡馆', '快餐店', '馄饨店', '生煎馆', '茶餐厅', '烧烤店'];
export const SCHOOLS = ['幼儿园', '小学', '中学', '实验学校'];
export const OTHERS = ['理发店', '银行网点', '快递驿站', '洗衣店', '菜鸟驿站', '彩票店', '五金店', '花店'];
