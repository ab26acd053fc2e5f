/**
 * A self-contained API reference page (no CDN: the gateway runs on closed networks). It
 * reads `/openapi.json` and lists every operation with its parameters, body and answers.
 */
export const DOCS_HTML = `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>pmh-gateway API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#0b3d6e;color:#fff;padding:1rem 2rem}header h1{margin:0;font-size:1.4rem}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem}
section.op{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:.8rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#1a7f37}.post{color:#0969da}.put{color:#9a6700}.patch{color:#8250df}.delete{color:#cf222e}
code{background:#eef1f4;padding:.1rem .3rem;border-radius:4px}pre{background:#eef1f4;padding:.6rem;overflow:auto;font-size:.8rem}
details summary{cursor:pointer}h2{margin-top:2rem}
</style></head><body><header><h1>pmh-gateway API</h1><div>OpenAPI 3.1: <a style="color:#fff" href="/openapi.json">/openapi.json</a></div></header>
<main id="root">Loading…</main>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{
  const root=document.getElementById('root');root.textContent='';
  const esc=s=>String(s??'').replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
  const byTag={};
  for(const [path,item] of Object.entries(doc.paths||{}))for(const [m,op] of Object.entries(item)){
    const t=(op.tags||['other'])[0];(byTag[t]=byTag[t]||[]).push({path,m,op});}
  const intro=document.createElement('p');intro.innerHTML=esc(doc.info.description||'');root.appendChild(intro);
  for(const [tag,ops] of Object.entries(byTag)){
    const h=document.createElement('h2');h.textContent=tag;root.appendChild(h);
    for(const {path,m,op} of ops){
      const s=document.createElement('section');s.className='op';
      const params=(op.parameters||[]).map(p=>'<li><code>'+esc(p.name)+'</code> ('+esc(p.in)+(p.required?', required':'')+')</li>').join('');
      const body=op.requestBody?'<details><summary>Request body</summary><pre>'+esc(JSON.stringify(op.requestBody.content,null,2))+'</pre></details>':'';
      const res=Object.entries(op.responses||{}).map(([c,r])=>'<li><code>'+esc(c)+'</code> '+esc(r.description)+'</li>').join('');
      s.innerHTML='<div><span class="m '+m+'">'+m+'</span><code>'+esc(path)+'</code> — <b>'+esc(op.operationId)+'</b></div>'+
        '<p>'+esc(op.summary)+'</p>'+(op.description?'<p>'+esc(op.description)+'</p>':'')+
        (params?'<div>Parameters<ul>'+params+'</ul></div>':'')+body+'<div>Responses<ul>'+res+'</ul></div>';
      root.appendChild(s);}}
  const h=document.createElement('h2');h.textContent='Schemas';root.appendChild(h);
  const pre=document.createElement('pre');pre.textContent=JSON.stringify(doc.components?.schemas??{},null,2);root.appendChild(pre);
}).catch(e=>{document.getElementById('root').textContent='Could not load /openapi.json: '+e});
</script></body></html>`;
