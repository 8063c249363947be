/** The page's inline style sheet and its one script (a table sorter; the tables are complete without it). */

export const CSS = `
:root{--fg:#1b1d21;--muted:#666;--line:#e3e3e3;--bg:#fff;--card:#fafbfc}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1140px;margin:0 auto;padding:24px 28px 64px}
header{border-bottom:1px solid var(--line);margin-bottom:20px;padding-bottom:12px}
h1{font-size:24px;margin:0 0 8px;font-weight:650}
h2{font-size:19px;margin:32px 0 10px;font-weight:650}
h3{font-size:15px;margin:18px 0 6px}
.paths{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
.paths dt{color:var(--muted)}.paths dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 20px 16px}
.verdict-line{display:flex;flex-wrap:wrap;align-items:baseline;gap:18px;margin:4px 0}
.verdict-label{display:inline-block;font-size:32px;font-weight:700}.verdict-label::first-letter{text-transform:uppercase}
.verdict-score{font-size:18px}
.badge{border-radius:10px;padding:1px 10px;font-size:13px;border:1px solid #ccc}
.badge-high{background:#e6f4ea;border-color:#9bd0a9}.badge-medium{background:#fff6da;border-color:#e5cf7f}.badge-low{background:#fde8e8;border-color:#e8a3a3}
.diagnostic{font-size:15px;background:#fff;border-left:4px solid #888;padding:6px 12px}
.muted{color:var(--muted)}
figure{margin:14px 0}
figcaption{color:var(--muted);font-size:13px;max-width:780px}
.panels{display:flex;flex-wrap:wrap;gap:6px}
.panel{margin:0}
svg.plot{max-width:100%;height:auto;overflow:visible}
svg.plot text{font-family:inherit}
.tick-label{font-size:10.5px;fill:#555}.axis-label{font-size:12px;fill:#333}
.panel-title{font-size:14px;font-weight:650}
.row-label{font-size:12px;font-weight:600}
.cell-label{font-size:10px}
.bar-label{font-size:12.5px;fill:#333}
.region-label{font-size:12px;fill:#444}
.score-value{font-size:14px;font-weight:700}
line.grid{stroke:#eee}line.axis,line.tick{stroke:#666}
.lede{max-width:820px}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
caption{text-align:left;color:var(--muted);padding:4px 0}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f4f5f7;font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
#matrices-table td:first-child{min-width:19em}
th button{font:inherit;background:none;border:0;padding:0;cursor:pointer;color:inherit}
th[aria-sort=ascending] button::after{content:" ▲"}th[aria-sort=descending] button::after{content:" ▼"}
.counts{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px}
.evidence .metric{display:inline-block;min-width:1.6em;font-weight:700;color:#445}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:8px 20px}
dl.summary div{border-bottom:1px solid var(--line);padding:4px 0}dl.summary dt{color:var(--muted);font-size:13px}dl.summary dd{margin:0;font-size:17px;font-weight:600}
.error{color:#a61b1b;font-weight:600}
.note{font-size:13px;color:var(--muted)}
footer{margin-top:40px;border-top:1px solid var(--line);padding-top:10px;font-size:12.5px;color:var(--muted)}
`;

// Progressive enhancement only: the tables are complete without it.
export const SORT_SCRIPT = `(function(){
  var tables=document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables,function(table){
    var heads=table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads,function(th,col){
      var button=th.querySelector('button');
      if(!button)return;
      button.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=table.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=a.cells[col].getAttribute('data-v'),y=b.cells[col].getAttribute('data-v');
          if(x===y)return 0;if(x==='')return 1;if(y==='')return -1;
          var nx=Number(x),ny=Number(y);
          var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
          return asc?r:-r;
        });
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
})();`;
